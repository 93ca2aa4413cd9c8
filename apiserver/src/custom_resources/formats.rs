//! The string formats of OpenAPI schemas that upstream checks for custom resources (others,
//! such as `password` or `byte`'s neighbours, are accepted as they are).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `s` is a valid value of `format` (unknown formats accept everything).
pub fn fits(format: &str, s: &str) -> bool {
    match format {
        "date-time" | "datetime" => s.parse::<jiff::Timestamp>().is_ok(),
        "date" => s.parse::<jiff::civil::Date>().is_ok() && s.len() == 10,
        "byte" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
        }
        "ipv4" => s.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok(),
        "ip" => s.parse::<IpAddr>().is_ok(),
        "uuid" => uuid::Uuid::parse_str(s).is_ok() && s.len() == 36,
        "int32" => s.parse::<i32>().is_ok(),
        "int64" => s.parse::<i64>().is_ok(),
        "hostname" => api::names::dns1123_subdomain(s).is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::fits;

    #[test]
    fn formats() {
        assert!(fits("date-time", "2024-01-02T03:04:05Z"));
        assert!(!fits("date-time", "2024-01-02"));
        assert!(fits("date", "2024-01-02"));
        assert!(!fits("ipv4", "1.2.3"));
        assert!(fits("uuid", "123e4567-e89b-12d3-a456-426614174000"));
        assert!(fits("password", "anything"));
    }
}
