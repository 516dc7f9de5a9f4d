//! API Gateway HTTP API (payload v2) requests as the intake use case reads them: shared by the
//! intake function and the fuzz targets, so both decode a request the same way.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine as _;

/// What intake reads of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookParts {
    /// The partner the route names (empty when it names none).
    pub partner: String,
    /// The headers whose values are text, names lower-case as API Gateway delivers them.
    pub headers: Vec<(String, String)>,
    /// The raw body, base64-decoded when API Gateway encoded it.
    pub body: Vec<u8>,
}

/// Splits `request` into the parts intake reads.
///
/// Errors: the request says its body is base64 (`isBase64Encoded`) and it is not.
pub fn webhook_parts(
    request: ApiGatewayV2httpRequest,
) -> Result<WebhookParts, base64::DecodeError> {
    // The `{partner}` parameter of a `/webhooks/{partner}` route, else the last segment of
    // the route the API matched (`POST /webhooks/doordash`: a route per partner, each with
    // its own throttle). The route, not the client's path: only a declared route reaches here.
    let partner = request
        .path_parameters
        .get("partner")
        .cloned()
        .or_else(|| {
            request
                .route_key
                .as_deref()
                .and_then(|k| k.rsplit_once("/webhooks/"))
                .map(|(_, p)| p.to_owned())
        })
        .unwrap_or_default();
    let headers = request
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let raw = request.body.unwrap_or_default();
    let body = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD.decode(raw.as_bytes())?
    } else {
        raw.into_bytes()
    };
    Ok(WebhookParts {
        partner,
        headers,
        body,
    })
}
