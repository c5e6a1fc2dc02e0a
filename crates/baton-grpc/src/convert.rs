//! Conversions between protobuf `Struct`/`Value`/`Timestamp` and the core's JSON and
//! epoch-millisecond representations.

use baton_core::Object;
use prost_types::{ListValue, Struct, Timestamp, Value as PValue, value::Kind};
use serde_json::{Number, Value};

/// A JSON object as a protobuf `Struct`.
pub fn object_to_struct(obj: &Object) -> Struct {
    Struct {
        fields: obj
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

/// A JSON value as a protobuf `Value`.
pub fn json_to_value(v: &Value) -> PValue {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(ListValue {
            values: a.iter().map(json_to_value).collect(),
        }),
        Value::Object(o) => Kind::StructValue(object_to_struct(o)),
    };
    PValue { kind: Some(kind) }
}

/// A protobuf `Struct` as a JSON object. Whole numbers come back as JSON integers.
pub fn struct_to_object(s: &Struct) -> Object {
    s.fields
        .iter()
        .map(|(k, v)| (k.clone(), value_to_json(v)))
        .collect()
}

/// An optional `Struct` as a JSON object (empty when absent).
pub fn opt_struct_to_object(s: Option<&Struct>) -> Object {
    s.map(struct_to_object).unwrap_or_default()
}

/// A protobuf `Value` as JSON.
pub fn value_to_json(v: &PValue) -> Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => Value::Object(struct_to_object(s)),
    }
}

fn number(n: f64) -> Value {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53: integers are exact below it
    if n.fract() == 0.0 && n.abs() <= LIMIT {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Epoch milliseconds as a `Timestamp`.
pub fn ts(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// An optional epoch-millisecond time as an optional `Timestamp`.
pub fn opt_ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(ts)
}

/// A `Timestamp` as epoch milliseconds.
pub fn ms(t: &Timestamp) -> i64 {
    t.seconds * 1000 + i64::from(t.nanos) / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_integers_and_nesting() {
        let v = json!({"a": 1, "b": 2.5, "c": [true, null, "x"], "d": {"e": -7}});
        let obj = v.as_object().unwrap().clone();
        assert_eq!(struct_to_object(&object_to_struct(&obj)), obj);
    }

    #[test]
    fn timestamps_round_trip_negative_and_positive() {
        for t in [-1_500, 0, 1_700_000_000_123] {
            assert_eq!(ms(&ts(t)), t);
        }
    }
}
