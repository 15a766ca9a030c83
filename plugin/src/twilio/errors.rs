//! The errors scripts see: Lua tables with a `kind` field and a `__tostring` that reads well.
//!
//! | kind | fields |
//! |---|---|
//! | `validation` | kind, function, field, message |
//! | `twilio` | kind, function, status, code, message, more_info |
//! | `response` | kind, function, status (when there was a response), message |
//! | `policy` | kind, function, rule, field (when the rule is about one), message |
//! | `denied`, `timeout`, `transport`, `limit` | kind, function, message |
//!
//! `message` is a whole sentence naming the function, except for `twilio`, where it is Twilio's
//! own message and `tostring` adds the function, the HTTP status and the code.

use mlua::{Lua, Table};

use crate::transport::TransportError;

/// The class of an error, the `kind` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad arguments or a bad name; nothing was sent.
    Validation,
    /// Twilio answered with an error status.
    Twilio,
    /// The host's egress refused the request: not one the tenant may make at all.
    Denied,
    /// The tenant's policy (a rule or a quota) refused the request.
    Policy,
    /// No response in time.
    Timeout,
    /// The connection failed.
    Transport,
    /// The run's budget of requests is used up.
    Limit,
    /// The response was not what Twilio sends: wrong status, not JSON, wrong shape, too large.
    Response,
}

impl Kind {
    /// The value of the `kind` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Validation => "validation",
            Kind::Twilio => "twilio",
            Kind::Denied => "denied",
            Kind::Policy => "policy",
            Kind::Timeout => "timeout",
            Kind::Transport => "transport",
            Kind::Limit => "limit",
            Kind::Response => "response",
        }
    }
}

/// An error of one function call, before it becomes a Lua table.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The class.
    pub kind: Kind,
    /// The function (or namespace) that failed.
    pub function: String,
    /// The offending parameter or name (validation and policy).
    pub field: Option<Box<str>>,
    /// The policy rule that refused (policy only).
    pub rule: Option<Box<str>>,
    /// The message (see the module documentation).
    pub message: String,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// Twilio's error code, or the HTTP status when the body had none (twilio only).
    pub code: Option<i64>,
    /// Twilio's documentation link (twilio only).
    pub more_info: Option<Box<str>>,
    /// Whether `code` came from a Twilio-shaped body (twilio only).
    pub twilio_shaped: bool,
}

impl ApiError {
    /// A validation error: `function: field: reason`.
    pub fn validation(function: &str, field: &str, reason: &str) -> ApiError {
        let message = format!("{function}: {field}: {reason}");
        ApiError {
            field: Some(field.into()),
            ..ApiError::plain(Kind::Validation, function, message)
        }
    }

    /// A validation error about a name in a namespace: `path: reason`.
    pub fn namespace(path: &str, name: &str, reason: &str) -> ApiError {
        ApiError {
            field: Some(name.into()),
            ..ApiError::plain(Kind::Validation, path, format!("{path}: {reason}"))
        }
    }

    /// An error of `kind` whose message is `function failed: what`.
    pub fn failed(kind: Kind, function: &str, status: Option<u16>, what: &str) -> ApiError {
        ApiError {
            status,
            ..ApiError::plain(kind, function, format!("{function} failed: {what}"))
        }
    }

    /// The error for a transport failure.
    pub fn transport(function: &str, error: &TransportError) -> ApiError {
        if let TransportError::Policy { rule, field, .. } = error {
            return ApiError {
                rule: Some(rule.as_str().into()),
                field: field.as_deref().map(Box::from),
                ..ApiError::failed(Kind::Policy, function, None, &error.to_string())
            };
        }
        let kind = match error {
            TransportError::Denied(_) => Kind::Denied,
            TransportError::Policy { .. } => Kind::Policy,
            TransportError::Timeout(_) => Kind::Timeout,
            TransportError::Limit(_) => Kind::Limit,
            TransportError::TooLarge(_) => Kind::Response,
            TransportError::Connection(_) | TransportError::Other(_) => Kind::Transport,
        };
        ApiError::failed(kind, function, None, &error.to_string())
    }

    /// A Twilio error response. `twilio_shaped` says whether the body carried Twilio's own code
    /// (otherwise `code` is the HTTP status).
    pub fn twilio(
        function: &str,
        status: u16,
        code: i64,
        message: String,
        more_info: Option<String>,
        twilio_shaped: bool,
    ) -> ApiError {
        ApiError {
            status: Some(status),
            code: Some(code),
            more_info: more_info.map(String::into_boxed_str),
            twilio_shaped,
            ..ApiError::plain(Kind::Twilio, function, message)
        }
    }

    /// This error with `note` after its message.
    pub fn with_note(mut self, note: &str) -> ApiError {
        self.message = format!("{}; {note}", self.message);
        self
    }

    /// What `tostring` gives: the message, or for `twilio` errors the function, HTTP status,
    /// code, message, link and a hint.
    pub fn text(&self) -> String {
        if self.kind != Kind::Twilio {
            return self.message.clone();
        }
        let mut text = format!(
            "{} failed: HTTP {}",
            self.function,
            self.status.unwrap_or(0)
        );
        let code = self.code.unwrap_or(0);
        if self.twilio_shaped {
            text.push_str(&format!(", Twilio error {code}"));
        }
        text.push_str(&format!(": {}", self.message));
        if let Some(link) = &self.more_info {
            text.push_str(&format!(" (see {link})"));
        }
        if let Some(hint) = hint(code) {
            text.push_str(&format!(". Hint: {hint}"));
        }
        text
    }

    fn plain(kind: Kind, function: &str, message: String) -> ApiError {
        ApiError {
            kind,
            function: function.to_owned(),
            field: None,
            rule: None,
            message,
            status: None,
            code: None,
            more_info: None,
            twilio_shaped: false,
        }
    }

    /// The Lua error table, with a metatable whose `__tostring` gives [`ApiError::text`].
    pub fn to_lua(&self, lua: &Lua) -> mlua::Result<Table> {
        let table = lua.create_table()?;
        table.raw_set("kind", self.kind.as_str())?;
        table.raw_set("function", self.function.as_str())?;
        table.raw_set("field", self.field.as_deref())?;
        table.raw_set("rule", self.rule.as_deref())?;
        table.raw_set("message", self.message.as_str())?;
        table.raw_set("status", self.status)?;
        table.raw_set("code", self.code)?;
        table.raw_set("more_info", self.more_info.as_deref())?;
        let metatable = lua.create_table()?;
        let text = self.text();
        metatable.raw_set(
            "__tostring",
            lua.create_function(move |_, _: mlua::Value| Ok(text.clone()))?,
        )?;
        metatable.raw_set("__name", "twilio error")?;
        table.set_metatable(Some(metatable))?;
        Ok(table)
    }
}

/// What to do about the most common Twilio errors.
fn hint(code: i64) -> Option<&'static str> {
    Some(match code {
        20003 => {
            "the account's credentials were refused; check the SID and token configured for this account"
        }
        20404 => {
            "the resource does not exist; check the SID (list the resources to find a real one)"
        }
        20429 => "too many requests at once; wait a moment and retry",
        21211 => "the 'To' number is invalid; use E.164 like \"+15551234567\"",
        21608 => {
            "trial accounts can only send to verified numbers; verify the number or upgrade the account"
        }
        21610 => "the recipient replied STOP; they must reply START before you can message them",
        21606 | 21212 => {
            "'From' must be a Twilio number of this account that can send to this destination"
        }
        63007 => "'From' is not a WhatsApp sender on this account",
        _ => return None,
    })
}
