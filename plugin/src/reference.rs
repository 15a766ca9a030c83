//! The agent reference (`docs/lua-api.md`, a verbatim copy of the product's API document),
//! embedded in the plugin so a script, the CLI and the WIT `reference` export all serve one text.

/// The whole reference, Markdown.
pub const REFERENCE: &str = include_str!("../../docs/lua-api.md");

/// The section of one function (`## twilio_send_sms` up to the next heading of that level), or
/// `None` when the reference has no such function.
pub fn section(function: &str) -> Option<&'static str> {
    let heading = format!("## {function}\n");
    let start = REFERENCE.find(&heading)?;
    let rest = &REFERENCE[start + heading.len()..];
    let end = ["\n## ", "\n---"]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
        .map_or(REFERENCE.len(), |offset| start + heading.len() + offset + 1);
    Some(&REFERENCE[start..end])
}

/// The names of the functions the reference documents, in its order (for the tests that tie
/// the namespace to the document).
#[cfg(test)]
pub fn documented_functions() -> Vec<&'static str> {
    REFERENCE
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .filter(|name| name.starts_with("twilio_"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_runs_to_the_next_function() {
        let text = section("twilio_send_sms").unwrap();
        assert!(text.starts_with("## twilio_send_sms\n"));
        assert!(text.contains("status_callback"));
        assert!(!text.contains("## twilio_get_message"));
    }

    #[test]
    fn the_last_section_stops_before_the_multi_account_part() {
        let text = section("twilio_delete_recording").unwrap();
        assert!(!text.contains("Multi-Account"));
    }

    /// `docs/lua-api.md` must stay a verbatim copy of the product's API document, which sits
    /// in `shared/` beside the repository on development and CI machines.
    #[test]
    fn the_embedded_reference_is_the_products_document() {
        let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/lua-api.md");
        match std::fs::read_to_string(shared) {
            Ok(original) => {
                assert_eq!(REFERENCE, original, "docs/lua-api.md differs from {shared}")
            }
            Err(error) => eprintln!("skipped: {shared} not readable here ({error})"),
        }
    }

    #[test]
    fn fifteen_functions_are_documented() {
        assert_eq!(documented_functions().len(), 15);
        assert!(section("twilio_nope").is_none());
    }
}
