//! A small JSON value, reader and writer for what senders parse and write: the typed data a
//! wallet signs, the close request a sender sends and the receiver's answers to it, and the
//! browser library's stored records.
//!
//! Not serde_json there: the browser library would link serde_json's parser, serializer and
//! `Value` (about 30 KB of its wasm) for a few small objects. The receiver's parsers of what
//! senders send keep serde_json (`deny_unknown_fields`, typed). This reader takes any JSON
//! (RFC 8259) and refuses the rest with a message saying where; it never panics, and nesting is
//! bounded. It accepts what serde_json accepts, and one thing more: numbers beyond `f64`'s range
//! (`1e999`), which it keeps as written where serde_json refuses them.

use core::fmt::{self, Write as _};

/// How deep arrays and objects may nest (as serde_json: 127 levels).
const MAX_DEPTH: usize = 127;

/// A JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written (valid JSON number syntax): read it with [`Json::as_u64`].
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members in their order. Of a name given twice the last counts (as in
    /// serde_json and JavaScript).
    Object(Vec<(String, Json)>),
}

/// Why a text is not JSON: what was expected, and at which byte.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at byte {offset}")]
pub struct JsonError {
    problem: &'static str,
    offset: usize,
}

impl Json {
    /// Parses `text`: one JSON value, with whitespace around it.
    pub fn parse(text: &str) -> Result<Self, JsonError> {
        let mut reader = Reader { text, bytes: text.as_bytes(), at: 0 };
        let value = reader.value(0)?;
        reader.skip_whitespace();
        if reader.at != reader.bytes.len() {
            return Err(reader.error("trailing characters"));
        }
        Ok(value)
    }

    /// An object of `members`, in this order.
    pub fn object<'a>(members: impl IntoIterator<Item = (&'a str, Json)>) -> Self {
        Self::Object(members.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())
    }

    /// A string value.
    pub fn string(text: impl Into<String>) -> Self {
        Self::String(text.into())
    }

    /// A number value.
    pub fn number(number: u64) -> Self {
        Self::Number(number.to_string())
    }

    /// The member `name` of an object (the last one of that name); `None` for a missing member
    /// and for anything but an object.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match self {
            Self::Object(members) => {
                members.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value)
            }
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// A number that is a non-negative integer below 2^64 written without fraction or exponent.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Number(number) => number.parse().ok(),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub const fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

/// The compact JSON text (no whitespace), as serde_json writes it.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(value) => f.write_str(if *value { "true" } else { "false" }),
            Self::Number(number) => f.write_str(number),
            Self::String(text) => write_string(f, text),
            Self::Array(items) => {
                f.write_char('[')?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_char(',')?;
                    }
                    item.fmt(f)?;
                }
                f.write_char(']')
            }
            Self::Object(members) => {
                f.write_char('{')?;
                for (index, (name, value)) in members.iter().enumerate() {
                    if index > 0 {
                        f.write_char(',')?;
                    }
                    write_string(f, name)?;
                    f.write_char(':')?;
                    value.fmt(f)?;
                }
                f.write_char('}')
            }
        }
    }
}

/// `text` as a JSON string: quotes, backslashes and control characters escaped.
fn write_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut from = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        f.write_str(&text[from..at])?;
        if escaped.is_empty() {
            write!(f, "\\u{byte:04x}")?;
        } else {
            f.write_str(escaped)?;
        }
        from = at + 1;
    }
    f.write_str(&text[from..])?;
    f.write_char('"')
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    const fn error(&self, problem: &'static str) -> JsonError {
        JsonError { problem, offset: self.at }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Consumes `byte` after whitespace, or fails with `problem`.
    fn expect(&mut self, byte: u8, problem: &'static str) -> Result<(), JsonError> {
        self.skip_whitespace();
        if self.peek() != Some(byte) {
            return Err(self.error(problem));
        }
        self.at += 1;
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end, expected a value")),
        }
    }

    fn word(&mut self, word: &'static str, value: Json) -> Result<Json, JsonError> {
        if !self.bytes[self.at..].starts_with(word.as_bytes()) {
            return Err(self.error("expected a value"));
        }
        self.at += word.len();
        Ok(value)
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.at += 1;
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let name = self.string()?;
            self.expect(b':', "expected `:`")?;
            members.push((name, self.value(depth)?));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.at += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit after `.`"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.error("expected a digit in the exponent"));
            }
            self.digits();
        }
        Ok(Json::Number(self.text[start..self.at].to_owned()))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut text = String::new();
        let mut from = self.at;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    text.push_str(&self.text[from..self.at]);
                    self.at += 1;
                    return Ok(text);
                }
                Some(b'\\') => {
                    text.push_str(&self.text[from..self.at]);
                    self.at += 1;
                    self.escape(&mut text)?;
                    from = self.at;
                }
                Some(0..=0x1f) => return Err(self.error("control character in a string")),
                // Inside a `&str`: multi-byte characters are whole, and copied with their run.
                Some(_) => self.at += 1,
            }
        }
    }

    /// The escape after a backslash.
    fn escape(&mut self, text: &mut String) -> Result<(), JsonError> {
        let escaped = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.at += 1;
                let unit = self.hex4()?;
                let code = match unit {
                    0xd800..=0xdbff => {
                        if !self.bytes[self.at..].starts_with(b"\\u") {
                            return Err(self.error("unpaired surrogate in a string"));
                        }
                        self.at += 2;
                        let low = self.hex4()?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(self.error("unpaired surrogate in a string"));
                        }
                        0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(self.error("unpaired surrogate in a string")),
                    unit => unit,
                };
                text.push(char::from_u32(code).ok_or_else(|| self.error("invalid escape"))?);
                return Ok(());
            }
            _ => return Err(self.error("invalid escape")),
        };
        self.at += 1;
        text.push(escaped);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or_else(|| self.error("invalid escape"))?;
        let mut value = 0;
        for digit in digits {
            let nibble = char::from(*digit).to_digit(16).ok_or_else(|| self.error("invalid escape"))?;
            value = value * 16 + nibble;
        }
        self.at += 4;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"a":[1,-2.5e3,0.25,true,false,null],"b":{"c":"d"},"e":""}"#,
            r#" [ "\"\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00", "ü😀" ] "#,
            "0",
            "-0",
            "1E+2",
            "18446744073709551615",
            "{}",
            "[]",
        ] {
            let ours = Json::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            let ours_again: serde_json::Value = serde_json::from_str(&ours.to_string()).unwrap();
            assert_eq!(ours_again, theirs, "{text}");
        }
        let json = Json::parse(r#"{"n":42,"big":18446744073709551616,"f":1.0,"s":"x","n":7}"#).unwrap();
        assert_eq!(json.get("n").and_then(Json::as_u64), Some(7), "the last of a repeated name");
        assert_eq!(json.get("big").and_then(Json::as_u64), None);
        assert_eq!(json.get("f").and_then(Json::as_u64), None);
        assert_eq!(json.get("s").and_then(Json::as_str), Some("x"));
        assert_eq!(json.get("missing"), None);
        assert_eq!(Json::parse("[1]").unwrap().get("0"), None);
    }

    #[test]
    fn refuses_what_is_not_json_and_says_where() {
        for (text, problem) in [
            ("", "unexpected end, expected a value at byte 0"),
            ("{", "expected a member name at byte 1"),
            (r#"{"a" 1}"#, "expected `:` at byte 5"),
            (r#"{"a":1,}"#, "expected a member name at byte 7"),
            ("[1 2]", "expected `,` or `]` at byte 3"),
            ("01", "trailing characters at byte 1"),
            ("1.", "expected a digit after `.` at byte 2"),
            ("-", "expected a digit at byte 1"),
            ("1e", "expected a digit in the exponent at byte 2"),
            ("tru", "expected a value at byte 0"),
            ("\"abc", "unterminated string at byte 4"),
            ("\"a\nb\"", "control character in a string at byte 2"),
            (r#""\x""#, "invalid escape at byte 2"),
            (r#""\u12"#, "invalid escape at byte 3"),
            (r#""\ud800""#, "unpaired surrogate in a string at byte 7"),
            (r#""\udc00""#, "unpaired surrogate in a string at byte 7"),
            ("{} x", "trailing characters at byte 3"),
            ("NaN", "expected a value at byte 0"),
        ] {
            assert_eq!(Json::parse(text).unwrap_err().to_string(), problem, "{text:?}");
            assert!(serde_json::from_str::<serde_json::Value>(text).is_err(), "{text:?}");
        }
        let deep = |levels: usize| "[".repeat(levels) + &"]".repeat(levels);
        assert_eq!(Json::parse(&deep(200)).unwrap_err().to_string(), "nested too deeply at byte 127");
        for levels in [127, 128] {
            let theirs = serde_json::from_str::<serde_json::Value>(&deep(levels));
            assert_eq!(Json::parse(&deep(levels)).is_ok(), theirs.is_ok(), "{levels} levels");
        }
        assert!(Json::parse(&deep(127)).is_ok());
    }

    #[test]
    fn writes_as_serde_json_writes() {
        let json = Json::object([
            ("text", Json::string("quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} é 😀 /")),
            ("number", Json::number(u64::MAX)),
            ("list", Json::Array(vec![Json::Null, Json::Bool(true), Json::Bool(false), Json::object([])])),
        ]);
        let theirs = serde_json::json!({
            "text": "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} é 😀 /",
            "number": u64::MAX,
            "list": [null, true, false, {}],
        });
        // serde_json sorts the keys; ours keep their order.
        assert_eq!(
            json.to_string(),
            format!(
                r#"{{"text":{},"number":{},"list":{}}}"#,
                theirs["text"], theirs["number"], theirs["list"]
            )
        );
        assert_eq!(Json::parse(&json.to_string()).unwrap(), json);
    }

    proptest! {
        #[test]
        fn any_text_is_parsed_or_refused_never_a_panic(text in "\\PC{0,40}") {
            let ours = Json::parse(&text);
            let theirs = serde_json::from_str::<serde_json::Value>(&text);
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}", text);
        }

        #[test]
        fn json_shaped_text_agrees_with_serde_json(text in r#"[\[\]{}",:0-9a-z\\\-. eE+]{0,30}"#) {
            let ours = Json::parse(&text);
            let theirs = serde_json::from_str::<serde_json::Value>(&text);
            // serde_json refuses numbers beyond f64 (`1e999`); ours are kept as written.
            if theirs.as_ref().is_err_and(|e| e.to_string().contains("out of range")) {
                return Ok(());
            }
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}", text);
            if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
                let again: serde_json::Value = serde_json::from_str(&ours.to_string()).unwrap();
                prop_assert_eq!(again, theirs);
            }
        }

        #[test]
        fn strings_round_trip(text in "\\PC{0,40}") {
            let written = Json::string(text.clone()).to_string();
            prop_assert_eq!(&written, &serde_json::to_string(&text).unwrap());
            prop_assert_eq!(Json::parse(&written).unwrap(), Json::String(text));
        }
    }
}
