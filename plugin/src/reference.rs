//! The agent reference: the product's API document (`docs/lua-api.md`, a verbatim copy) with
//! this integration's additions (`docs/lua-api-additions.md`: what each function returns, and
//! the rules the product's tables leave out) placed after the section they belong to. Embedded
//! in the plugin so a script, the CLI and the WIT `reference` export all serve one text.

use std::sync::OnceLock;

/// The product's document, verbatim.
const PRODUCT: &str = include_str!("../../docs/lua-api.md");

/// The additions: a preamble for maintainers (not served), then `## NAME` parts.
const ADDITIONS: &str = include_str!("../../docs/lua-api-additions.md");

/// Where a product section ends: the next `## ` heading or the `---` before the multi-account
/// part, or the end of the document.
const SECTION_ENDS: [&str; 2] = ["\n## ", "\n---"];

/// The whole reference, Markdown: the product's document with the additions in place.
pub fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| compose(PRODUCT, ADDITIONS))
}

/// The section of one function (`## twilio_send_sms` up to the next heading of that level, its
/// additions included), or `None` when the reference has no such function.
pub fn section(function: &str) -> Option<&'static str> {
    let text = text();
    let heading = format!("## {function}\n");
    let start = text.find(&heading)?;
    Some(&text[start..start + heading.len() + section_len(&text[start + heading.len()..])])
}

/// The length of the section body at the start of `rest`, through its last newline.
fn section_len(rest: &str) -> usize {
    SECTION_ENDS
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
        .map_or(rest.len(), |offset| offset + 1)
}

/// The `## NAME` parts of `additions`: each name with its text (the lines after the heading).
fn parts(additions: &str) -> Vec<(&str, &str)> {
    let mut parts = Vec::new();
    let mut rest = additions;
    while let Some(start) = rest.find("\n## ") {
        let after = &rest[start + 4..];
        let (name, body) = after.split_once('\n').unwrap_or((after, ""));
        let end = body.find("\n## ").map_or(body.len(), |offset| offset + 1);
        parts.push((name, &body[..end]));
        rest = &body[end.saturating_sub(1)..];
    }
    parts
}

/// `product` with the text of each part of `additions` after the product section of the same
/// name; a part no section matches is appended at the end with its heading.
fn compose(product: &str, additions: &str) -> String {
    let mut text = product.to_string();
    for (name, body) in parts(additions) {
        let heading = format!("## {name}\n");
        match text.find(&heading) {
            Some(start) => {
                let body_start = start + heading.len();
                let end = body_start + section_len(&text[body_start..]);
                text.insert_str(end, body);
            }
            None => {
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text.push_str(&heading);
                text.push_str(body);
            }
        }
    }
    text
}

/// The names of the functions the reference documents, in its order (for the tests that tie
/// the namespace to the document).
#[cfg(test)]
pub fn documented_functions() -> Vec<&'static str> {
    PRODUCT
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .filter(|name| name.starts_with("twilio_"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The marker every addition's headings carry.
    const ADDED: &str = "(added by this integration)";

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
        assert!(text.contains("204 No Content"), "{text}");
    }

    /// `docs/lua-api.md` must stay a verbatim copy of the product's API document, which sits
    /// in `shared/` beside the repository on development and CI machines.
    #[test]
    fn the_embedded_reference_is_the_products_document() {
        let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/lua-api.md");
        match std::fs::read_to_string(shared) {
            Ok(original) => {
                assert_eq!(PRODUCT, original, "docs/lua-api.md differs from {shared}")
            }
            Err(error) => eprintln!("skipped: {shared} not readable here ({error})"),
        }
    }

    #[test]
    fn the_served_reference_is_the_product_text_plus_marked_additions() {
        let mut stripped = text().to_string();
        for (name, body) in parts(ADDITIONS) {
            assert!(
                body.lines()
                    .filter(|line| line.starts_with("### "))
                    .all(|line| line.ends_with(ADDED)),
                "every heading added under {name} says so"
            );
            assert!(stripped.contains(body), "{name} is served");
            if PRODUCT.contains(&format!("## {name}\n")) {
                stripped = stripped.replacen(body, "", 1);
            } else {
                assert!(name.ends_with(ADDED), "{name} is a section of its own");
                stripped = stripped.replacen(&format!("## {name}\n{body}"), "", 1);
            }
        }
        assert_eq!(
            stripped, PRODUCT,
            "without the additions, the product's text is intact"
        );
    }

    #[test]
    fn every_function_says_what_it_returns() {
        for name in documented_functions() {
            let section = section(name).unwrap();
            assert!(
                section.contains(&format!("### Returns {ADDED}\n")),
                "{name}:\n{section}"
            );
        }
        let phone_numbers = section("twilio_list_phone_numbers").unwrap();
        for field in ["capabilities.voice", "capabilities.sms", "capabilities.mms"] {
            assert!(phone_numbers.contains(field), "{field}");
        }
        assert!(
            section("twilio_get_message")
                .unwrap()
                .contains("may be nil")
        );
    }

    #[test]
    fn fifteen_functions_are_documented() {
        assert_eq!(documented_functions().len(), 15);
        assert!(section("twilio_nope").is_none());
    }
}
