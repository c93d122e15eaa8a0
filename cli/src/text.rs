//! Small formatting helpers: JSON objects with ordered keys, payload
//! previews, byte counts for people.

pub use blocklog_testkit::encoding::hex;

/// A JSON object with its keys in the given order.
pub fn json_object(fields: &[(&str, serde_json::Value)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&serde_json::Value::from(*k).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// A short printable preview of a payload: printable ASCII as is, other
/// bytes as `\xNN`, at most `max` bytes shown.
pub fn preview(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(max) {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

/// A byte count for people: `1234 bytes`, `12.1 KiB`, `3.4 MiB`.
pub fn human_bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} bytes")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else if n < 1 << 30 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64)
    }
}

/// A file size for people: `123 bytes`, or `1.2 MiB (1234567 bytes)`.
pub fn file_size(n: u64) -> String {
    if n < 1024 {
        human_bytes(n)
    } else {
        format!("{} ({n} bytes)", human_bytes(n))
    }
}

/// An input's size for people: [`file_size`], or `stream` when unknown.
pub fn input_size(len: Option<u64>) -> String {
    len.map_or_else(|| "stream".to_string(), file_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_preview() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(preview(b"ab\x01\"", 10), "ab\\x01\\\"");
        assert_eq!(preview(b"abcdef", 3), "abc...");
        assert_eq!(human_bytes(10), "10 bytes");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(file_size(2048), "2.0 KiB (2048 bytes)");
        assert_eq!(
            json_object(&[("b", 1.into()), ("a", "x".into())]),
            r#"{"b":1,"a":"x"}"#
        );
    }
}
