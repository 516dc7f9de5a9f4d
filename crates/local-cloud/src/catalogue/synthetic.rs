//! A synthetic catalogue at a chain's scale, for `local-cloud bench --stores N`: the
//! repository's stores copied to `N` stores and its menus to `M` menus of a realistic size
//! ([`ITEMS_PER_MENU`] items, [`MODIFIERS_PER_MENU`] modifiers), each copy keeping every entry
//! of the menu it copies so the sample orders stay valid at any of its stores.
//!
//! Store `j` copies base store `j mod B` (`B` the repository's store count); stores `0..B`
//! are the repository's own, unchanged. A copy's ids: the chain's `"{base}-{j:05}"`, a
//! partner's `"{base}-{j:05}"` (Uber Eats: the base UUID with `j` as its last group, since
//! Uber Eats store ids are UUIDs).

use std::collections::BTreeMap;

use order_domain::Partner;
use serde_json::{Value, json};

/// Items on each synthetic menu (a quick-service chain's delivery menu has 100–200).
pub const ITEMS_PER_MENU: usize = 150;
/// Modifiers on each synthetic menu.
pub const MODIFIERS_PER_MENU: usize = 40;

/// The US time zones the copies of a US store are spread over.
const US_ZONES: [&str; 6] = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Pacific/Honolulu",
];

/// A generated catalogue and how to move a sample order to one of its stores.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// The catalogue, in the shape of `crates/domain/catalog/catalog.json`.
    pub catalogue: Value,
    /// Each base store's partner store ids.
    base: Vec<BTreeMap<String, String>>,
    stores: usize,
}

/// Builds a catalogue of `stores` stores and `menus` menus from the repository's catalogue
/// `base` (JSON). Errors name what is wrong with the base or the counts.
pub fn generate(base: &str, stores: usize, menus: usize) -> Result<Synthetic, String> {
    let base: Value =
        serde_json::from_str(base).map_err(|e| format!("the base catalogue is not JSON: {e}"))?;
    let base_stores = base["stores"].as_array().cloned().unwrap_or_default();
    let base_menus = base["menus"].as_array().cloned().unwrap_or_default();
    if stores < base_stores.len() || menus < base_menus.len() {
        return Err(format!(
            "asked for {stores} stores and {menus} menus; the repository's catalogue alone has {} and {}",
            base_stores.len(),
            base_menus.len()
        ));
    }
    // Menu k copies base menu k mod (base menus) and is padded to a realistic size.
    let mut all_menus = Vec::with_capacity(menus);
    for k in 0..menus {
        let mut menu = base_menus[k % base_menus.len()].clone();
        if k >= base_menus.len() {
            menu["id"] = json!(format!("{}-m{k:02}", menu["id"].as_str().unwrap_or("menu")));
        }
        pad(&mut menu["items"], ITEMS_PER_MENU, k, "ITEM");
        pad(&mut menu["modifiers"], MODIFIERS_PER_MENU, k, "MOD");
        all_menus.push(menu);
    }
    let mut all_stores = Vec::with_capacity(stores);
    for j in 0..stores {
        let b = j % base_stores.len();
        let mut store = base_stores[b].clone();
        if j >= base_stores.len() {
            let id = store["id"].as_str().unwrap_or("S").to_owned();
            store["id"] = json!(format!("{id}-{j:05}"));
            store["name"] = json!(format!(
                "{} #{j}",
                store["name"].as_str().unwrap_or("Store")
            ));
            if store["currency"] == "USD" {
                store["timezone"] = json!(US_ZONES[j % US_ZONES.len()]);
            }
            // Menus copying this store's menu: the base one and its copies, in turn.
            let base_menu = store["menu"].as_str().unwrap_or_default().to_owned();
            let candidates: Vec<&Value> = all_menus
                .iter()
                .enumerate()
                .filter(|(k, _)| base_menus[k % base_menus.len()]["id"] == base_menu.as_str())
                .map(|(_, m)| &m["id"])
                .collect();
            if !candidates.is_empty() {
                store["menu"] = candidates[(j / base_stores.len()) % candidates.len()].clone();
            }
            if let Some(ids) = store["partnerStoreIds"].as_object_mut() {
                for (partner, id) in ids.iter_mut() {
                    *id = json!(copy_id(partner, id.as_str().unwrap_or_default(), j));
                }
            }
        }
        all_stores.push(store);
    }
    let base = base_stores
        .iter()
        .map(|s| {
            s["partnerStoreIds"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(p, id)| (p.clone(), id.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .collect();
    Ok(Synthetic {
        catalogue: json!({ "stores": all_stores, "menus": all_menus }),
        base,
        stores,
    })
}

/// Store `j`'s copy of a base store's `partner` id `id`.
fn copy_id(partner: &str, id: &str, j: usize) -> String {
    if partner == Partner::UberEats.as_str() && id.len() == 36 {
        format!("{}{j:012x}", &id[..24])
    } else {
        format!("{id}-{j:05}")
    }
}

/// Adds generated entries to `list` until it holds `size`, each with its own POS code and
/// partner ids (unique within the menu) and a price.
fn pad(list: &mut Value, size: usize, menu: usize, kind: &str) {
    let Some(entries) = list.as_array_mut() else {
        return;
    };
    for i in entries.len()..size {
        let partner_ids: BTreeMap<&str, String> = Partner::ALL
            .iter()
            .map(|p| {
                let id = if *p == Partner::UberEats {
                    format!("00000000-0000-4000-8000-{:06}{i:06}", menu)
                } else {
                    format!("{}-{kind}-{menu:02}-{i:03}", p.as_str())
                };
                (p.as_str(), id)
            })
            .collect();
        entries.push(json!({
            "posCode": format!("GEN-{kind}-{i:03}"),
            "name": format!("{kind} {i}"),
            "priceMinor": 99 + (i as i64 * 37) % 900,
            "partnerIds": partner_ids,
        }));
    }
}

impl Synthetic {
    /// Stores in the catalogue.
    pub fn stores(&self) -> usize {
        self.stores
    }

    /// Moves an order `partner` sent for a base store to one of that store's copies, chosen
    /// by `pick`: the `(from, to)` partner store ids to replace, or `None` when `texts` name
    /// no base store of `partner` (the order is left where it is).
    pub fn respread(
        &self,
        partner: Partner,
        texts: &[&Value],
        pick: usize,
    ) -> Option<(String, String)> {
        let (b, from) = self.base.iter().enumerate().find_map(|(b, ids)| {
            let id = ids.get(partner.as_str())?;
            texts
                .iter()
                .any(|t| has_string(t, id))
                .then(|| (b, id.clone()))
        })?;
        let copies = self.stores.saturating_sub(b).div_ceil(self.base.len());
        let j = b + self.base.len() * (pick % copies.max(1));
        let to = if j < self.base.len() {
            from.clone()
        } else {
            copy_id(partner.as_str(), &from, j)
        };
        Some((from, to))
    }
}

/// Whether `v` holds the string `s` exactly, anywhere.
fn has_string(v: &Value, s: &str) -> bool {
    match v {
        Value::String(x) => x == s,
        Value::Array(a) => a.iter().any(|x| has_string(x, s)),
        Value::Object(o) => o.values().any(|x| has_string(x, s)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use order_domain::{Catalog, StoreId};

    fn base() -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::fs::read_to_string(root.join(super::super::REPOSITORY_CATALOGUE)).unwrap()
    }

    #[test]
    fn the_chain_scale_catalogue_is_valid_and_every_copy_keeps_its_base_menu_entries() {
        let s = generate(&base(), 7_000, 50).unwrap();
        let catalog = Catalog::from_json(&s.catalogue.to_string()).unwrap();
        assert_eq!(s.catalogue["stores"].as_array().unwrap().len(), 7_000);
        let menus = s.catalogue["menus"].as_array().unwrap();
        assert_eq!(menus.len(), 50);
        for m in menus {
            assert_eq!(m["items"].as_array().unwrap().len(), ITEMS_PER_MENU);
            assert_eq!(m["modifiers"].as_array().unwrap().len(), MODIFIERS_PER_MENU);
            let menu = order_domain::Menu::checked(&m.to_string()).unwrap();
            assert!(
                menu.items
                    .iter()
                    .any(|i| i.pos_code.as_str() == "TACO-CRUNCHY"),
                "{}",
                m["id"]
            );
        }
        // A copy answers to its partner ids, and sells what its base store sells.
        let copy = StoreId::parse("S1001-06000").unwrap();
        let store = catalog.store(&copy).unwrap();
        let uber = &store.partner_store_ids[&Partner::UberEats];
        assert_eq!(uber, "6f0c1a8e-2d1b-4c3e-9a55-000000001770");
        assert_eq!(
            catalog
                .store_for_partner(Partner::UberEats, uber)
                .unwrap()
                .id,
            copy
        );
    }

    #[test]
    fn an_order_is_moved_to_a_copy_of_its_own_store_or_left_alone() {
        let s = generate(&base(), 100, 4).unwrap();
        let order = json!({"store": {"id": "S1002"}, "items": []});
        let (from, to) = s.respread(Partner::DoorDash, &[&order], 3).unwrap();
        assert_eq!(from, "S1002");
        // Base index 1, four base stores: copies at 1, 5, 9, …; pick 3 → store 13.
        assert_eq!(to, "S1002-00013");
        // Pick 0 keeps the base store itself.
        assert_eq!(
            s.respread(Partner::DoorDash, &[&order], 0).unwrap().1,
            "S1002"
        );
        // A substring is not a match: "S10021" names no base store.
        let other = json!({"store": {"id": "S10021"}});
        assert_eq!(s.respread(Partner::DoorDash, &[&other], 3), None);
    }

    #[test]
    fn fewer_stores_than_the_repository_has_is_refused_by_name() {
        let e = generate(&base(), 2, 50).unwrap_err();
        assert!(e.contains("has 4 and 2"), "{e}");
    }
}
