//! The agent reference as the MCP server serves it: the whole text, one function's section, or
//! the sections that match a few search words. The text is the plugin's own (`Host::reference`),
//! read once when the server starts.

/// The reference split at its `## ` headings.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The whole document.
    text: String,
    /// Each `## ` section: its heading (a function name, or `Multi-Account Usage`) and text.
    sections: Vec<(String, String)>,
}

/// Sections a search returns at most, best first.
pub const SEARCH_RESULTS: usize = 3;

impl Reference {
    /// Splits `text` at its second-level headings; what precedes the first is not a section.
    pub fn new(text: String) -> Reference {
        let mut sections: Vec<(String, String)> = Vec::new();
        for line in text.split_inclusive('\n') {
            if let Some(heading) = line.strip_prefix("## ") {
                sections.push((heading.trim().to_string(), String::new()));
            }
            if let Some((_, body)) = sections.last_mut() {
                body.push_str(line);
            }
        }
        for (_, body) in &mut sections {
            let kept = body.trim_end_matches(['\n', '-', ' ']).len();
            body.truncate(kept);
            body.push('\n');
        }
        Reference { text, sections }
    }

    /// The whole document.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The documented function names, in the document's order.
    pub fn functions(&self) -> impl Iterator<Item = &str> {
        self.sections
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| name.starts_with("twilio_"))
    }

    /// The section whose heading is `name` (a function name, exactly).
    pub fn section(&self, name: &str) -> Option<&str> {
        self.sections
            .iter()
            .find(|(heading, _)| heading == name)
            .map(|(_, body)| body.as_str())
    }

    /// The sections containing the most of `words` (case-insensitive; a word in the heading
    /// counts three times), best first, at most [`SEARCH_RESULTS`]; none when no word occurs.
    pub fn search(&self, words: &str) -> Vec<&str> {
        let words: Vec<String> = words
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|word| !word.is_empty())
            .map(str::to_lowercase)
            .collect();
        let mut scored: Vec<(usize, usize, &str)> = self
            .sections
            .iter()
            .enumerate()
            .map(|(order, (heading, body))| {
                let (lower_heading, lower_body) = (heading.to_lowercase(), body.to_lowercase());
                let score = words
                    .iter()
                    .map(|word| {
                        3 * usize::from(lower_heading.contains(word.as_str()))
                            + lower_body.matches(word.as_str()).count()
                    })
                    .sum();
                (score, order, body.as_str())
            })
            .filter(|(score, _, _)| *score > 0)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(SEARCH_RESULTS)
            .map(|(_, _, body)| body)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Reference {
        Reference::new(
            "# Title\nintro\n## twilio_send_sms\nSend an SMS.\n`to`, `body`\n\n---\n## twilio_make_call\nPlace a call to `to`.\n## Multi-Account Usage\nAccounts.\n"
                .to_string(),
        )
    }

    #[test]
    fn sections_run_to_the_next_heading_without_the_rule() {
        let reference = sample();
        assert_eq!(
            reference.section("twilio_send_sms"),
            Some("## twilio_send_sms\nSend an SMS.\n`to`, `body`\n")
        );
        assert_eq!(
            reference.functions().collect::<Vec<_>>(),
            ["twilio_send_sms", "twilio_make_call"]
        );
        assert!(reference.section("twilio_nothing").is_none());
    }

    #[test]
    fn search_ranks_by_the_words_found() {
        let reference = sample();
        let found = reference.search("call to");
        assert!(found[0].starts_with("## twilio_make_call"), "{found:?}");
        assert!(found[1].starts_with("## twilio_send_sms"), "{found:?}");
        assert!(reference.search("fax").is_empty());
        assert!(reference.search("  ,, ").is_empty());
    }
}
