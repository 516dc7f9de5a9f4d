//! The order pipeline's use cases, one per function, over small ports. Business decisions
//! come from `order-domain`; partner formats from `partners`; this crate orchestrates them
//! and owns the functions' contracts ([`io`]) and error names ([`errors::names`]).
//!
//! No AWS types: the real adapters live in `aws-adapters` and `http-clients`, and
//! [`memory`] has an in-memory twin of every port.

pub mod catalog_admin;
pub mod contract;
pub mod errors;
pub mod io;
pub mod memory;
pub mod ports;
pub mod usecases;

pub use errors::{PipelineError, names};
