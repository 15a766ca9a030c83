//! The tenant's rules applied to one request: which function it is (the form tells a WhatsApp
//! send from an SMS), whether the account's [`Rules`] allow it, and what it costs for the
//! quotas. A pure decision on the parameters the guest actually sent (the query of a GET, the
//! form of a POST), made after the request matched one of the 15 operations.

use std::sync::LazyLock;

use http::Uri;
use phonenumber::country::Id;

use super::operations::{Class, Operation};
use crate::config::Rules;

/// A refusal by the tenant's policy: the rule, the script's field, and a message that says
/// what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRefusal {
    /// The policy key that refused (`allowed_countries`, `messages_per_day`, ...).
    pub rule: &'static str,
    /// The script's parameter it is about (`to`, `from`, ...), when there is one.
    pub field: Option<String>,
    /// What the script is told.
    pub message: String,
}

impl PolicyRefusal {
    fn new(rule: &'static str, field: Option<&str>, message: String) -> PolicyRefusal {
        PolicyRefusal {
            rule,
            field: field.map(script_field),
            message,
        }
    }
}

/// What an allowed request does, as the quotas count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// The function it serves.
    pub function: &'static str,
    /// What it does.
    pub class: Class,
    /// SMS segments it sends (0 for anything but an SMS without media).
    pub segments: u32,
}

/// The parameters that carry a URL Twilio will fetch or post to.
const URL_PARAMS: [&str; 4] = ["StatusCallback", "Url", "MediaUrl", "CallbackUrl"];

/// Applies `rules` to a request of `operation` with these query or form `params`.
pub fn check(
    rules: &Rules,
    operation: &Operation,
    params: &[(String, String)],
) -> Result<Action, PolicyRefusal> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let to = param("To");
    let whatsapp = to.is_some_and(|to| channel_number(to).0);
    let function = match operation.class {
        Class::Send if whatsapp => "twilio_send_whatsapp",
        _ => operation.function,
    };
    let class = operation.class;
    if rules.read_only && class != Class::Read {
        return Err(PolicyRefusal::new(
            "read_only",
            None,
            format!("{function} is not allowed: this tenant's agents may only read"),
        ));
    }
    if !rules.allowed_functions.contains(function) {
        return Err(PolicyRefusal::new(
            "functions",
            None,
            format!(
                "{function} is not allowed; this tenant's agents may use {}",
                rules.functions.join(", ")
            ),
        ));
    }
    if matches!(class, Class::Send | Class::Call) {
        check_destination(rules, to.unwrap_or_default())?;
        check_sender(rules, param("From").unwrap_or_default())?;
    }
    if !rules.callback_hosts.is_empty() {
        for name in URL_PARAMS {
            for (_, url) in params.iter().filter(|(key, _)| key == name) {
                check_callback_host(rules, name, url)?;
            }
        }
    }
    if !rules.inline_twiml && param("Twiml").is_some() {
        return Err(PolicyRefusal::new(
            "inline_twiml",
            Some("Twiml"),
            "inline TwiML is not allowed; give a url whose TwiML Twilio fetches".into(),
        ));
    }
    if let (Some(allowed), Some(fields)) = (&rules.lookup_fields, param("Fields")) {
        for field in fields.split(',').map(str::trim) {
            if !allowed.iter().any(|a| a == field) {
                return Err(PolicyRefusal::new(
                    "lookup_fields",
                    Some("Fields"),
                    format!(
                        "the Lookup package {field:?} is not allowed; allowed: {}",
                        none_if_empty(allowed)
                    ),
                ));
            }
        }
    }
    let sms = class == Class::Send && !whatsapp && param("MediaUrl").is_none();
    Ok(Action {
        function,
        class,
        segments: if sms {
            sms_segments::count(param("Body").unwrap_or_default())
        } else {
            0
        },
    })
}

/// `to` against `denied_prefixes`, `allowed_to` and `allowed_countries`.
fn check_destination(rules: &Rules, to: &str) -> Result<(), PolicyRefusal> {
    let number = channel_number(to).1;
    let refuse = |rule, message| Err(PolicyRefusal::new(rule, Some("To"), message));
    if !number.starts_with('+') {
        // Each destination rule speaks of E.164 numbers, so none can vouch for anything else.
        let rule = if !rules.allowed_to.is_empty() {
            "allowed_to"
        } else if !rules.allowed_countries.is_empty() {
            "allowed_countries"
        } else if !rules.denied_prefixes.is_empty() {
            "denied_prefixes"
        } else {
            return Ok(());
        };
        return refuse(
            rule,
            format!(
                "{to:?} is not an E.164 phone number, and this tenant may only reach E.164 numbers it can check"
            ),
        );
    }
    if let Some(prefix) = rules
        .denied_prefixes
        .iter()
        .find(|prefix| number.starts_with(prefix.as_str()))
    {
        return refuse(
            "denied_prefixes",
            format!("{number} starts with {prefix}, a prefix this tenant may not reach"),
        );
    }
    if !rules.allowed_to.is_empty() && !rules.allowed_to.iter().any(|n| n == number) {
        return refuse(
            "allowed_to",
            format!(
                "{number} is not one of the numbers this tenant may reach: {}",
                rules.allowed_to.join(", ")
            ),
        );
    }
    if !rules.allowed_countries.is_empty() {
        let allowed = || rules.allowed_countries.join(", ");
        match country_of(number) {
            Some(country)
                if rules
                    .allowed_countries
                    .iter()
                    .any(|c| c == country.as_ref()) => {}
            Some(country) => {
                let (country, allowed) = (country.as_ref(), allowed());
                return refuse(
                    "allowed_countries",
                    format!("{number} is a number in {country}; this tenant may reach {allowed}"),
                );
            }
            None => {
                let allowed = allowed();
                let plans = match plans_of(number) {
                    Some((code, regions)) => format!("the numbering plans of +{code} ({regions})"),
                    None => "any numbering plan".into(),
                };
                return refuse(
                    "allowed_countries",
                    format!(
                        "the country of {number} cannot be known: it is not in the ranges of {plans}; this tenant may reach {allowed}"
                    ),
                );
            }
        }
    }
    Ok(())
}

/// `from` against `allowed_from`.
fn check_sender(rules: &Rules, from: &str) -> Result<(), PolicyRefusal> {
    let number = channel_number(from).1;
    if rules.allowed_from.is_empty() || rules.allowed_from.iter().any(|n| n == number) {
        return Ok(());
    }
    Err(PolicyRefusal::new(
        "allowed_from",
        Some("From"),
        format!(
            "{from:?} is not a sender this tenant may use: {}",
            rules.allowed_from.join(", ")
        ),
    ))
}

/// Whether a `To` or `From` is on the WhatsApp channel (`whatsapp:`, in any case), and the
/// number without the channel.
fn channel_number(value: &str) -> (bool, &str) {
    const WHATSAPP: &str = "whatsapp:";
    match value.get(..WHATSAPP.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(WHATSAPP) => (true, &value[WHATSAPP.len()..]),
        _ => (false, value),
    }
}

/// A URL parameter's host against `callback_hosts`.
fn check_callback_host(rules: &Rules, name: &str, url: &str) -> Result<(), PolicyRefusal> {
    let host = url
        .parse::<Uri>()
        .ok()
        .and_then(|uri| uri.host().map(str::to_ascii_lowercase));
    if host.is_some_and(|host| rules.callback_hosts.contains(&host)) {
        return Ok(());
    }
    Err(PolicyRefusal::new(
        "callback_hosts",
        Some(name),
        format!(
            "{url:?} is not on a host this tenant's callbacks and media may use: {}",
            rules.callback_hosts.join(", ")
        ),
    ))
}

/// The country of each number looked up lately (parsing a number against the numbering
/// plans takes tens of microseconds; agents text the same numbers again and again).
static COUNTRIES: LazyLock<quick_cache::sync::Cache<String, Option<Id>>> =
    LazyLock::new(|| quick_cache::sync::Cache::new(10_000));

/// The country an E.164 number belongs to, from the numbering plans (`+1 876` is Jamaica);
/// `None` when no plan's ranges hold it.
pub fn country_of(number: &str) -> Option<Id> {
    if let Some(known) = COUNTRIES.get(number) {
        return known;
    }
    let country = phonenumber::parse(None, number)
        .ok()
        .and_then(|parsed| parsed.country().id());
    COUNTRIES.insert(number.to_string(), country);
    country
}

/// Loads the numbering plans (about 100 ms, once per process) on a thread of its own, so that
/// the first country check of a run does not wait for all of it.
pub fn load_numbering_plans_ahead() {
    std::thread::spawn(|| country_of("+14155550123"));
}

/// The calling code of an E.164 number and the countries that share it (at most four named).
fn plans_of(number: &str) -> Option<(u16, String)> {
    let code = phonenumber::parse(None, number).ok()?.country().code();
    let regions = phonenumber::metadata::DATABASE.region(&code)?;
    let mut named = regions
        .iter()
        .take(4)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if regions.len() > 4 {
        named.push_str(&format!(" and {} more", regions.len() - 4));
    }
    Some((code, named))
}

/// The name the script uses for a Twilio parameter: `MediaUrl` is `media_url`.
pub fn script_field(param: &str) -> String {
    let mut field = String::with_capacity(param.len() + 2);
    for (index, c) in param.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            field.push('_');
        }
        field.push(c.to_ascii_lowercase());
    }
    field
}

fn none_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::operations::OPERATIONS;

    fn operation(function: &str) -> &'static Operation {
        OPERATIONS
            .iter()
            .find(|op| op.function == function)
            .unwrap()
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn send(rules: &Rules, to: &str) -> Result<Action, PolicyRefusal> {
        check(
            rules,
            operation("twilio_send_sms"),
            &params(&[("To", to), ("From", "+14155550100"), ("Body", "hi")]),
        )
    }

    fn rule_of(result: Result<Action, PolicyRefusal>) -> Option<&'static str> {
        result.err().map(|refusal| refusal.rule)
    }

    #[test]
    fn countries_come_from_the_numbering_plan() {
        assert_eq!(country_of("+14155550123"), Some(Id::US));
        assert_eq!(country_of("+18765550123"), Some(Id::JM));
        assert_eq!(country_of("+442071838750"), Some(Id::GB));
        assert_eq!(
            country_of("+447700900123"),
            None,
            "Ofcom's drama range is no one's"
        );
        assert_eq!(country_of("+16135550123"), Some(Id::CA));
        assert_eq!(country_of("+15551234567"), None, "555 is no area code");
        assert_eq!(
            country_of("+18765550123"),
            Some(Id::JM),
            "the same, remembered"
        );
    }

    #[test]
    fn a_country_rule_sends_only_to_its_countries() {
        let rules = Rules {
            allowed_countries: vec!["US".into()],
            ..Rules::default()
        };
        assert!(send(&rules, "+14155550123").is_ok());
        let gb = send(&rules, "+442071838750").unwrap_err();
        assert_eq!(
            (gb.rule, gb.field.as_deref()),
            ("allowed_countries", Some("to"))
        );
        assert_eq!(
            gb.message,
            "+442071838750 is a number in GB; this tenant may reach US"
        );
        let drama = send(&rules, "+447700900123").unwrap_err();
        assert_eq!(
            drama.message,
            "the country of +447700900123 cannot be known: it is not in the ranges of the numbering plans of +44 (GB, GG, IM, JE); this tenant may reach US"
        );
        assert!(
            send(&rules, "+18765550123")
                .unwrap_err()
                .message
                .contains("in JM")
        );
        let unknown = send(&rules, "+15551234567").unwrap_err();
        assert!(
            unknown.message.contains("cannot be known"),
            "{}",
            unknown.message
        );
        assert_eq!(
            rule_of(send(&rules, "whatsapp:+447700900123")),
            Some("allowed_countries")
        );
        let call = check(
            &rules,
            operation("twilio_make_call"),
            &params(&[
                ("To", "client:alice"),
                ("From", "+14155550100"),
                ("Url", "https://x.test/"),
            ]),
        );
        assert_eq!(rule_of(call), Some("allowed_countries"));
    }

    #[test]
    fn premium_and_satellite_prefixes_are_denied_by_default() {
        let rules = Rules::default();
        assert_eq!(
            rule_of(send(&rules, "+19005550123")),
            Some("denied_prefixes")
        );
        assert_eq!(
            rule_of(send(&rules, "+881612345678")),
            Some("denied_prefixes")
        );
        assert!(send(&rules, "+14155550123").is_ok());
        assert!(
            send(&rules, "+15551234567").is_ok(),
            "no country rule by default"
        );
        let open = Rules {
            denied_prefixes: Vec::new(),
            ..Rules::default()
        };
        assert!(send(&open, "+19005550123").is_ok());
    }

    #[test]
    fn read_only_and_functions() {
        let read_only = Rules {
            read_only: true,
            ..Rules::default()
        };
        assert_eq!(rule_of(send(&read_only, "+14155550123")), Some("read_only"));
        let list = check(&read_only, operation("twilio_list_messages"), &[]);
        assert_eq!(list.map(|a| a.class), Ok(Class::Read));
        let sms_only = Rules {
            functions: vec!["read".into(), "twilio_send_sms".into()],
            allowed_functions: Rules::default()
                .allowed_functions
                .into_iter()
                .filter(|f| *f != "twilio_send_whatsapp" && *f != "twilio_delete_recording")
                .collect(),
            ..Rules::default()
        };
        assert!(send(&sms_only, "+14155550123").is_ok());
        assert_eq!(
            rule_of(send(&sms_only, "WHATSAPP:+14155550123")),
            Some("functions")
        );
        let whatsapp = send(&sms_only, "whatsapp:+14155550123").unwrap_err();
        assert_eq!(whatsapp.rule, "functions");
        assert!(
            whatsapp
                .message
                .starts_with("twilio_send_whatsapp is not allowed")
        );
        let delete = check(&sms_only, operation("twilio_delete_recording"), &[]);
        assert_eq!(rule_of(delete), Some("functions"));
    }

    #[test]
    fn numbers_callbacks_twiml_and_lookup_packages() {
        let rules = Rules {
            allowed_to: vec!["+14155550123".into()],
            allowed_from: vec!["+14155550100".into()],
            callback_hosts: vec!["hooks.example.com".into()],
            inline_twiml: false,
            lookup_fields: Some(vec!["line_type_intelligence".into()]),
            ..Rules::default()
        };
        assert!(send(&rules, "+14155550123").is_ok());
        assert_eq!(rule_of(send(&rules, "+14155550124")), Some("allowed_to"));
        let from = check(
            &rules,
            operation("twilio_send_sms"),
            &params(&[("To", "+14155550123"), ("From", "+14155550101")]),
        );
        assert_eq!(from.unwrap_err().field.as_deref(), Some("from"));
        let callback = check(
            &rules,
            operation("twilio_send_sms"),
            &params(&[
                ("To", "+14155550123"),
                ("From", "+14155550100"),
                ("MediaUrl", "https://hooks.example.com/a.png"),
                ("StatusCallback", "https://evil.example/?leak=1"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            (callback.rule, callback.field.as_deref()),
            ("callback_hosts", Some("status_callback"))
        );
        let twiml = check(
            &rules,
            operation("twilio_make_call"),
            &params(&[
                ("To", "+14155550123"),
                ("From", "+14155550100"),
                ("Twiml", "<Response/>"),
            ]),
        );
        assert_eq!(rule_of(twiml), Some("inline_twiml"));
        let lookup = operation("twilio_lookup_phone");
        assert!(
            check(
                &rules,
                lookup,
                &params(&[("Fields", "line_type_intelligence")])
            )
            .is_ok()
        );
        let paid = check(
            &rules,
            lookup,
            &params(&[("Fields", "line_type_intelligence,caller_name")]),
        );
        assert_eq!(rule_of(paid), Some("lookup_fields"));
        assert!(check(&rules, lookup, &[]).is_ok());
    }

    #[test]
    fn an_sms_costs_its_segments() {
        let action = check(
            &Rules::default(),
            operation("twilio_send_sms"),
            &params(&[("To", "+14155550123"), ("Body", &"a".repeat(161))]),
        );
        assert_eq!(action.map(|a| a.segments), Ok(2));
        let mms = check(
            &Rules::default(),
            operation("twilio_send_sms"),
            &params(&[("To", "+14155550123"), ("MediaUrl", "https://x.test/a.png")]),
        );
        assert_eq!(mms.map(|a| a.segments), Ok(0));
    }
}
