//! Property tests, run natively: arbitrary Lua values into all 15 functions, and arbitrary
//! responses out of them. Whatever comes in, a call never panics (in the component a panic is a
//! trap) or hangs: it raises a well-formed error table, or it sends well-formed requests and
//! returns a result table.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value as Json;

use crate::transport::recorder::Recorder;
use crate::transport::{HttpResponse, TransportError};
use crate::twilio::fuzzing::{self, lua_bytes, plausible, valid_arguments};
use crate::twilio::spec::{FUNCTIONS, FunctionSpec, Param};

/// Cases per function for the argument property (15 functions: 10,500 in all).
const ARGUMENT_CASES: u32 = 700;

/// Cases per function for the response property (15 functions: 4,500 in all).
const RESPONSE_CASES: u32 = 300;

// ---------------------------------------------------------------------------------------------
// Lua values, as source text
// ---------------------------------------------------------------------------------------------

/// Scalars at the edges, and other integers and floats.
fn edge_number() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(fuzzing::EDGE_NUMBERS).prop_map(str::to_owned),
        any::<i64>().prop_map(|n| format!("math.tointeger({n})")),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        (-2i64..1002).prop_map(|n| n.to_string()),
    ]
}

/// Strings: arbitrary bytes, plausible Twilio values slightly off, and huge ones.
fn edge_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| lua_bytes(&b)),
        2 => proptest::sample::select(fuzzing::NEAR_MISSES).prop_map(|s| lua_bytes(s.as_bytes())),
        1 => (prop_oneof![Just("x"), Just("\\255"), Just("\\0"), Just("é")], 1usize..200_000)
            .prop_map(|(piece, n)| format!("string.rep(\"{piece}\", {n})")),
    ]
}

/// Values that are not data: functions, coroutines, booleans, nil.
fn odd_value() -> impl Strategy<Value = String> {
    proptest::sample::select(fuzzing::ODD_VALUES).prop_map(str::to_owned)
}

/// A metatable whose metamethods throw (or misbehave), for wrapping a table.
fn hostile_metatable() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(fuzzing::HOSTILE_METAMETHODS), 1..6)
        .prop_map(|methods| format!("{{{}}}", methods.join(", ")))
}

/// A table key: a parameter name, a near miss, or something that is not a string.
fn key() -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = FUNCTIONS
        .iter()
        .flat_map(|spec| spec.params.iter().map(|param| param.name))
        .chain(["To", "FROM", "msg", "phone", "", "__index"])
        .collect();
    prop_oneof![
        3 => proptest::sample::select(names).prop_map(|name| lua_bytes(name.as_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(|b| lua_bytes(&b)),
        1 => prop_oneof![
            Just("1"), Just("-0.0"), Just("math.maxinteger"), Just("1.5"), Just("true"),
            Just("print"), Just("{}"),
        ]
        .prop_map(str::to_owned),
    ]
}

/// Any Lua value: scalars at the edges, nested tables, tables with hostile metatables.
fn lua_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![4 => edge_string(), 3 => edge_number(), 1 => odd_value()];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("{{{}}}", items.join(", "))),
            proptest::collection::vec((key(), inner.clone()), 0..6).prop_map(|entries| {
                let fields: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("[{k}] = {v}"))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }),
            (inner, hostile_metatable())
                .prop_map(|(table, meta)| format!("setmetatable({{x = {table}}}, {meta})")),
        ]
    })
}

/// The arguments of one call of `spec`, as a Lua expression list: usually a table whose
/// parameters are absent, plausible or arbitrary, with stray keys and sometimes a hostile
/// metatable; otherwise arbitrary values.
fn arguments(spec: &'static FunctionSpec) -> impl Strategy<Value = String> {
    let param = |param: &'static Param| {
        let name = lua_bytes(param.name.as_bytes());
        prop_oneof![
            2 => Just(None),
            3 => Just(Some(format!("[{name}] = {}", plausible(&param.rule)))),
            2 => lua_value().prop_map(move |value| Some(format!("[{name}] = {value}"))),
        ]
    };
    let params: Vec<_> = spec.params.iter().map(param).collect();
    let stray = proptest::collection::vec((key(), lua_value()), 0..3);
    let table = (
        params,
        stray,
        proptest::option::weighted(0.1, hostile_metatable()),
    )
        .prop_map(|(params, stray, meta)| {
            let mut fields: Vec<String> = params.into_iter().flatten().collect();
            fields.extend(stray.into_iter().map(|(k, v)| format!("[{k}] = {v}")));
            let table = format!("{{{}}}", fields.join(", "));
            match meta {
                Some(meta) => format!("setmetatable({table}, {meta})"),
                None => table,
            }
        });
    prop_oneof![
        8 => table,
        1 => proptest::collection::vec(lua_value(), 0..3).prop_map(|values| values.join(", ")),
    ]
}

// ---------------------------------------------------------------------------------------------
// Running the properties
// ---------------------------------------------------------------------------------------------

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs `property` for every function, `cases` times each, and fails with the function's name.
fn for_every_function<S: Strategy>(
    cases: u32,
    strategy: impl Fn(&'static FunctionSpec) -> S,
    property: impl Fn(&'static FunctionSpec, S::Value) -> Result<(), String>,
) {
    for spec in FUNCTIONS {
        let result = runner(cases).run(&strategy(spec), |input| {
            property(spec, input).map_err(TestCaseError::fail)
        });
        if let Err(failure) = result {
            panic!("{}: {failure}", spec.name);
        }
    }
}

#[test]
fn arbitrary_arguments_give_a_validation_error_or_well_formed_requests() {
    for_every_function(ARGUMENT_CASES, arguments, |spec, arguments| {
        fuzzing::check_arguments(spec, &arguments)
    });
}

#[test]
fn a_huge_string_in_any_parameter_is_refused_or_sent_well_formed() {
    for spec in FUNCTIONS {
        for param in spec.params {
            let arguments = format!(
                r#"(function() local t = {} t[{:?}] = string.rep("\255é", 2500000) return t end)()"#,
                valid_arguments(spec),
                param.name
            );
            if let Err(failure) = fuzzing::check_arguments(spec, &arguments) {
                panic!("{}.{}: {failure}", spec.name, param.name);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// Arbitrary JSON, with the keys Twilio responses use more likely than others.
fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Json::from),
        ".{0,24}".prop_map(Json::String),
        prop_oneof![
            Just("/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json?Page=1"),
            Just("https://evil.test/x"),
            Just("//evil.test/x"),
            Just(""),
        ]
        .prop_map(|s| Json::String(s.into())),
    ];
    let key = prop_oneof![
        3 => proptest::sample::select(fuzzing::RESPONSE_KEYS)
        .prop_map(str::to_owned),
        1 => ".{0,8}",
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|entries| Json::Object(entries.into_iter().collect())),
        ]
    })
}

/// A response: any status (success codes more likely), odd `Retry-After` values, and a body of
/// arbitrary bytes or arbitrary JSON; sometimes a transport failure instead.
fn any_response(
    spec: &'static FunctionSpec,
) -> impl Strategy<Value = Result<HttpResponse, TransportError>> {
    let status = prop_oneof![
        3 => Just(spec.success),
        1 => proptest::sample::select(vec![200u16, 201, 204, 301, 400, 404, 429, 500, 503]),
        1 => 0u16..1000,
    ];
    let retry_after = proptest::option::weighted(
        0.2,
        prop_oneof![
            Just("0".to_owned()),
            Just("18446744073709551616".to_owned()),
            "[0-9 -]{0,6}"
        ],
    );
    let body = prop_oneof![
        3 => json_value().prop_map(|json| json.to_string().into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..256),
    ];
    let failure = proptest::sample::select(vec![
        TransportError::Timeout("t".into()),
        TransportError::Connection("c".into()),
        TransportError::TooLarge("big".into()),
        TransportError::Other("o".into()),
    ]);
    prop_oneof![
        9 => (status, retry_after, body).prop_map(|(status, retry_after, body)| {
            let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
            headers.extend(retry_after.map(|value| ("retry-after".to_owned(), value)));
            Ok(HttpResponse { status, headers, body })
        }),
        1 => failure.prop_map(Err),
    ]
}

#[test]
fn arbitrary_responses_give_a_result_table_or_an_error_table() {
    for_every_function(RESPONSE_CASES, any_response, fuzzing::check_response);
}

#[test]
fn valid_arguments_are_valid() {
    for spec in FUNCTIONS {
        let recorder = Recorder::new(|_| Ok(fuzzing::success(spec)));
        let seen = fuzzing::call(spec.name, &valid_arguments(spec), recorder).unwrap();
        assert!(
            matches!(seen, fuzzing::Seen::Returned { table: true }),
            "{}: {seen:?}",
            spec.name
        );
    }
}
