//! What a name a script wrote probably meant: a misspelling (`twilio_sendsms`), a missing
//! `twilio_` prefix (`send_sms`), or the words of a function that does exist said another way
//! (`send_message` means `twilio_send_sms` or `twilio_send_whatsapp`; `get_balance` means
//! `twilio_get_account`).

use super::rules;

/// Suggestions shown at most.
const MOST: usize = 3;

/// Longer runs of letters are not split into words (bounding the search).
const LONGEST_CHUNK: usize = 40;

/// The words scripts use and what each means, as verbs (`Verb`) and things (`Noun`). A
/// function's name means what its words mean, through the same table.
const WORDS: &[(&str, &[Concept])] = {
    use Concept::*;
    &[
        ("send", &[Verb("send")]),
        ("post", &[Verb("send")]),
        ("text", &[Verb("send"), Noun("message")]),
        ("texts", &[Noun("message")]),
        ("sms", &[Noun("message"), Noun("sms")]),
        ("mms", &[Noun("message"), Noun("sms")]),
        ("message", &[Noun("message")]),
        ("messages", &[Noun("message")]),
        ("msg", &[Noun("message")]),
        ("whatsapp", &[Noun("message"), Noun("whatsapp")]),
        ("wa", &[Noun("message"), Noun("whatsapp")]),
        ("get", &[Verb("get")]),
        ("fetch", &[Verb("get")]),
        ("read", &[Verb("get")]),
        ("retrieve", &[Verb("get")]),
        ("show", &[Verb("get")]),
        ("info", &[Verb("get")]),
        ("details", &[Verb("get")]),
        ("status", &[Verb("get")]),
        ("list", &[Verb("list")]),
        ("all", &[Verb("list")]),
        ("search", &[Verb("list")]),
        ("find", &[Verb("list")]),
        ("history", &[Verb("list")]),
        ("recent", &[Verb("list")]),
        ("make", &[Verb("make")]),
        ("place", &[Verb("make")]),
        ("dial", &[Verb("make"), Noun("call")]),
        ("start", &[Verb("make")]),
        ("call", &[Noun("call")]),
        ("calls", &[Noun("call")]),
        ("voice", &[Noun("call")]),
        ("create", &[Verb("create")]),
        ("add", &[Verb("create")]),
        ("new", &[Verb("create")]),
        ("set", &[Verb("create")]),
        ("delete", &[Verb("delete")]),
        ("remove", &[Verb("delete")]),
        ("erase", &[Verb("delete")]),
        ("destroy", &[Verb("delete")]),
        ("lookup", &[Verb("lookup")]),
        ("look", &[Verb("lookup")]),
        ("validate", &[Verb("lookup")]),
        ("verify", &[Verb("lookup")]),
        ("check", &[Verb("lookup")]),
        ("carrier", &[Verb("lookup")]),
        ("phone", &[Noun("number")]),
        ("phones", &[Noun("number")]),
        ("number", &[Noun("number")]),
        ("numbers", &[Noun("number")]),
        ("recording", &[Noun("recording")]),
        ("recordings", &[Noun("recording")]),
        ("audio", &[Noun("recording")]),
        ("usage", &[Noun("usage")]),
        ("billing", &[Noun("usage")]),
        ("cost", &[Noun("usage")]),
        ("costs", &[Noun("usage")]),
        ("spend", &[Noun("usage")]),
        ("spending", &[Noun("usage")]),
        ("trigger", &[Noun("trigger")]),
        ("triggers", &[Noun("trigger")]),
        ("alert", &[Noun("trigger")]),
        ("alerts", &[Noun("trigger")]),
        ("alarm", &[Noun("trigger")]),
        ("records", &[Noun("records")]),
        ("report", &[Noun("records")]),
        ("account", &[Noun("account")]),
        ("accounts", &[Noun("account")]),
        ("balance", &[Noun("account")]),
        ("subaccount", &[Noun("account")]),
    ]
};

/// What a word means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Concept {
    /// What to do; agreeing on it counts twice.
    Verb(&'static str),
    /// What to do it to.
    Noun(&'static str),
}

/// ` (did you mean "a"?)` or ` (did you mean "a" or "b"?)` for the candidates `key` probably
/// meant, or nothing.
pub fn hint(key: &str, candidates: &[&str]) -> String {
    let suggested = suggestions(key, candidates);
    if suggested.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = suggested.iter().map(|name| format!("\"{name}\"")).collect();
    let (last, rest) = quoted.split_last().expect("not empty");
    if rest.is_empty() {
        format!(" (did you mean {last}?)")
    } else {
        format!(" (did you mean {} or {last}?)", rest.join(", "))
    }
}

/// A meaning match this good (a verb and a noun agree) beats a close spelling: `send_text` is
/// nearer `twilio_send_sms` in letters than `twilio_send_whatsapp`, but means both.
const AGREEING: usize = 3;

/// The candidates `key` probably meant, best first: the one that is `key` with the `twilio_`
/// prefix; else those whose words agree with `key`'s in verb and noun; else a close spelling;
/// else those sharing some meaning with `key` (at most three).
pub fn suggestions<'a>(key: &str, candidates: &[&'a str]) -> Vec<&'a str> {
    let prefixed = format!("twilio_{key}");
    if let Some(exact) = candidates.iter().find(|c| **c == prefixed) {
        return vec![exact];
    }
    let (points, meant) = by_meaning(key, candidates);
    if points >= AGREEING {
        return meant;
    }
    match rules::suggest(key, candidates) {
        Some(close) => vec![close],
        None => meant,
    }
}

/// The candidates whose words share the most meaning with `key`'s, with their score (a shared
/// verb counts 2, each shared noun 1): only those sharing a noun with `key` (when `key` names
/// one) and scoring at least 2 (or all `key` means, when that is less).
fn by_meaning<'a>(key: &str, candidates: &[&'a str]) -> (usize, Vec<&'a str>) {
    let wanted = concepts(key);
    if wanted.is_empty() {
        return (0, Vec::new());
    }
    let wants_noun = wanted.iter().any(|c| matches!(c, Concept::Noun(_)));
    let threshold = score(&wanted, &wanted).min(2);
    let scored: Vec<(usize, &'a str)> = candidates
        .iter()
        .filter_map(|candidate| {
            let offered = concepts(candidate);
            let shares_noun = offered
                .iter()
                .any(|c| matches!(c, Concept::Noun(_)) && wanted.contains(c));
            let points = score(&wanted, &offered);
            (points >= threshold && (shares_noun || !wants_noun)).then_some((points, *candidate))
        })
        .collect();
    let best = scored.iter().map(|(points, _)| *points).max().unwrap_or(0);
    let meant = scored
        .into_iter()
        .filter(|(points, _)| *points == best)
        .map(|(_, candidate)| candidate)
        .take(MOST)
        .collect();
    (best, meant)
}

/// What the words of `name` mean (split at anything but letters and digits, and into known
/// words; `twilio` ignored), without repeats.
fn concepts(name: &str) -> Vec<Concept> {
    let mut found = Vec::new();
    for word in words(name) {
        if let Some((_, meanings)) = WORDS.iter().find(|(known, _)| *known == word) {
            for meaning in *meanings {
                if !found.contains(meaning) {
                    found.push(*meaning);
                }
            }
        }
    }
    found
}

fn words(name: &str) -> Vec<&'static str> {
    name.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|chunk| *chunk != "twilio")
        .flat_map(|chunk| segment(chunk).unwrap_or_default())
        .collect()
}

/// `chunk` as a run of known words (`sendwhatsapp` is `send` then `whatsapp`), longest words
/// first; `None` when no run covers it all (an unknown or misspelt word means nothing).
fn segment(chunk: &str) -> Option<Vec<&'static str>> {
    if chunk.is_empty() {
        return Some(Vec::new());
    }
    if chunk.len() > LONGEST_CHUNK {
        return None;
    }
    let mut known: Vec<&'static str> = WORDS
        .iter()
        .map(|(word, _)| *word)
        .filter(|word| chunk.starts_with(word))
        .collect();
    known.sort_by_key(|word| std::cmp::Reverse(word.len()));
    known.into_iter().find_map(|word| {
        let mut rest = segment(&chunk[word.len()..])?;
        rest.insert(0, word);
        Some(rest)
    })
}

/// Points for what `wanted` and `offered` share: 2 per verb, 1 per noun.
fn score(wanted: &[Concept], offered: &[Concept]) -> usize {
    wanted
        .iter()
        .filter(|concept| offered.contains(concept))
        .map(|concept| match concept {
            Concept::Verb(_) => 2,
            Concept::Noun(_) => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::spec;

    fn suggested(key: &str) -> Vec<&'static str> {
        let names: Vec<&str> = spec::names().collect();
        suggestions(key, &names)
    }

    #[test]
    fn a_verb_and_a_thing_said_another_way() {
        assert_eq!(
            suggested("send_message"),
            ["twilio_send_sms", "twilio_send_whatsapp"]
        );
        assert_eq!(
            suggested("twilio_send_text"),
            ["twilio_send_sms", "twilio_send_whatsapp"]
        );
        assert_eq!(suggested("sendWhatsApp"), ["twilio_send_whatsapp"]);
        assert_eq!(suggested("sendSMS"), ["twilio_send_sms"]);
        assert_eq!(suggested("get_balance"), ["twilio_get_account"]);
        assert_eq!(suggested("list_numbers"), ["twilio_list_phone_numbers"]);
        assert_eq!(suggested("lookup_number"), ["twilio_lookup_phone"]);
        assert_eq!(suggested("remove_recording"), ["twilio_delete_recording"]);
        assert_eq!(suggested("create_alert"), ["twilio_create_usage_trigger"]);
        assert_eq!(suggested("dial"), ["twilio_make_call"]);
        assert_eq!(
            suggested("send_fax"),
            ["twilio_send_sms", "twilio_send_whatsapp"],
            "the verb alone still points somewhere useful"
        );
        assert_eq!(
            suggested("calls"),
            ["twilio_make_call", "twilio_get_call", "twilio_list_calls"]
        );
    }

    #[test]
    fn spelling_and_the_prefix_come_first() {
        assert_eq!(suggested("send_sms"), ["twilio_send_sms"]);
        assert_eq!(suggested("twilio_sendsms"), ["twilio_send_sms"]);
        assert_eq!(suggested("twilio_get_mesage"), ["twilio_get_message"]);
    }

    #[test]
    fn nothing_for_what_no_function_does() {
        assert!(
            suggested("delete_message").is_empty(),
            "no function deletes messages"
        );
        assert!(suggested("fax").is_empty());
        assert!(suggested("zzz").is_empty());
        assert!(suggested("").is_empty());
    }

    #[test]
    fn the_hint_reads_as_a_question() {
        let names: Vec<&str> = spec::names().collect();
        assert_eq!(
            hint("send_message", &names),
            " (did you mean \"twilio_send_sms\" or \"twilio_send_whatsapp\"?)"
        );
        assert_eq!(
            hint("wrok", &["default", "work"]),
            " (did you mean \"work\"?)"
        );
        assert_eq!(hint("zzz", &names), "");
    }
}
