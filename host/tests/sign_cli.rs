//! `latch sign` as a user runs it: RFC vectors through the binary, and bad
//! input refused with one line and exit status 2.

use assert_cmd::Command;

fn latch() -> Command {
    Command::cargo_bin("latch").unwrap()
}

fn signature_of(header: &str) -> String {
    let start = header.find("oauth_signature=\"").unwrap() + "oauth_signature=\"".len();
    let end = start + header[start..].find('"').unwrap();
    header[start..end]
        .replace("%2F", "/")
        .replace("%2B", "+")
        .replace("%3D", "=")
}

fn run(args: &[&str]) -> String {
    let out = latch().arg("sign").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
    stdout.trim_end().to_owned()
}

const CK: [&str; 4] = [
    "--consumer-key",
    "dpf43f3p2l4k3l03",
    "--consumer-secret",
    "kd94hf93k423kf44",
];

#[test]
fn rfc5849_temporary_credentials() {
    let mut args = vec![
        "--method",
        "POST",
        "--url",
        "https://photos.example.net/initiate",
    ];
    args.extend(CK);
    args.extend([
        "--nonce",
        "wIjqoS",
        "--timestamp",
        "137131200",
        "--realm",
        "Photos",
        "--callback",
        "http://printer.example.com/ready",
    ]);
    let h = run(&args);
    assert!(h.starts_with("OAuth realm=\"Photos\", "), "{h}");
    assert_eq!(signature_of(&h), "74KNZJeDHnMBp0EMJ9ZHt/XKycU=");
}

#[test]
fn rfc5849_token_credentials() {
    let mut args = vec![
        "--method",
        "POST",
        "--url",
        "https://photos.example.net/token",
    ];
    args.extend(CK);
    args.extend([
        "--token",
        "hh5s93j4hdidpola",
        "--token-secret",
        "hdhd0244k9j7ao03",
        "--nonce",
        "walatlh",
        "--timestamp",
        "137131201",
        "--verifier",
        "hfdp7dh39dks9884",
    ]);
    assert_eq!(signature_of(&run(&args)), "gKgrFCywp7rO0OXSjdot/IHF7IU=");
}

#[test]
fn rfc5849_photo_request() {
    let mut args = vec![
        "--method",
        "GET",
        "--url",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
    ];
    args.extend(CK);
    args.extend([
        "--token",
        "nnch734d00sl2jdk",
        "--token-secret",
        "pfkkdhi9sl3r4s00",
        "--nonce",
        "chapoH",
        "--timestamp",
        "137131202",
    ]);
    let h = run(&args);
    assert!(!h.contains("oauth_version"), "{h}");
    assert_eq!(signature_of(&h), "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
}

#[test]
fn oauth_core_1_0_appendix_a5() {
    let mut args = vec![
        "--method",
        "GET",
        "--url",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
    ];
    args.extend(CK);
    args.extend([
        "--token",
        "nnch734d00sl2jdk",
        "--token-secret",
        "pfkkdhi9sl3r4s00",
        "--nonce",
        "kllo9940pd9333jh",
        "--timestamp",
        "1191242096",
        "--oauth-version",
    ]);
    let h = run(&args);
    assert!(h.contains("oauth_version=\"1.0\""), "{h}");
    assert_eq!(signature_of(&h), "tR3+Ty81lMeYAr/Fid0kMTYa/WM=");
}

/// RFC 5849 §3.4.1.1's request: the query comes from the URL, the body
/// parameters from --body-param (raw text: "2 q" is the decoded "2+q").
/// Its signature is checked against the core's own base string + HMAC.
#[test]
fn rfc5849_section_3_4_1_1_request() {
    let args = [
        "--method",
        "POST",
        "--url",
        "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        "--consumer-key",
        "9djdj82h48djs9d2",
        "--consumer-secret",
        "j49sk3j29djd",
        "--token",
        "kkk9d7dh3k39sjv7",
        "--token-secret",
        "dh893hdasih9",
        "--nonce",
        "7d8f3e4a",
        "--timestamp",
        "137131201",
        "--realm",
        "Example",
        "--body-param",
        "c2=",
        "--body-param",
        "a3=2 q",
    ];
    let h = run(&args);
    // Independent computation: HMAC-SHA1 over the RFC's printed base string.
    use hmac::{Hmac, KeyInit, Mac};
    let base = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7";
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"j49sk3j29djd&dh893hdasih9").unwrap();
    mac.update(base.as_bytes());
    use base64ct::Encoding;
    let expected = base64ct::Base64::encode_string(&mac.finalize().into_bytes());
    assert_eq!(signature_of(&h), expected);
}

#[test]
fn random_nonce_and_current_time_by_default() {
    let args = [
        "--method",
        "GET",
        "--url",
        "https://api.example.com/",
        "--consumer-key",
        "k",
        "--consumer-secret",
        "s",
    ];
    let a = run(&args);
    let b = run(&args);
    let nonce = |h: &str| {
        let s = h.find("oauth_nonce=\"").unwrap() + 13;
        h[s..s + h[s..].find('"').unwrap()].to_owned()
    };
    let ts = |h: &str| {
        let s = h.find("oauth_timestamp=\"").unwrap() + 17;
        h[s..s + h[s..].find('"').unwrap()].parse::<u64>().unwrap()
    };
    assert_ne!(nonce(&a), nonce(&b));
    assert!(
        nonce(&a).len() >= 22,
        "128 bits need at least 22 base64 characters"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts(&a).abs_diff(now) < 60);
}

fn refused(args: &[&str], needle: &str) {
    let out = latch().arg("sign").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.contains(needle),
        "{stderr:?} should mention {needle:?}"
    );
}

#[test]
fn bad_input_is_one_line_and_status_2() {
    let base = ["--method", "GET", "--consumer-key", "k"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    refused(
        &with(&["--url", "not a url", "--consumer-secret", "s"]),
        "--url",
    );
    refused(
        &with(&["--url", "ftp://example.com/", "--consumer-secret", "s"]),
        "http or https",
    );
    refused(
        &with(&[
            "--url",
            "http://example.com/?a=%zz",
            "--consumer-secret",
            "s",
        ]),
        "percent-encoding",
    );
    refused(
        &with(&["--url", "http://example.com/"]),
        "--consumer-secret",
    );
    refused(
        &with(&[
            "--url",
            "http://example.com/",
            "--consumer-secret",
            "s",
            "--body-param",
            "novalue",
        ]),
        "--body-param",
    );
    refused(
        &with(&[
            "--url",
            "http://example.com/",
            "--consumer-secret",
            "s",
            "--signature-method",
            "RSA-SHA1",
        ]),
        "RSA-SHA1",
    );
    refused(
        &with(&[
            "--url",
            "http://example.com/",
            "--consumer-secret",
            "s",
            "--token",
            "t",
        ]),
        "--token-secret",
    );
    refused(
        &with(&[
            "--url",
            "http://example.com/",
            "--consumer-secret",
            "s",
            "--timestamp",
            "soon",
        ]),
        "--timestamp",
    );
    refused(
        &with(&[
            "--url",
            "http://example.com/",
            "--consumer-secret",
            "s",
            "--realm",
            "a\"b",
        ]),
        "realm",
    );
    refused(
        &[
            "--method",
            "G T",
            "--url",
            "http://e/",
            "--consumer-key",
            "k",
            "--consumer-secret",
            "s",
        ],
        "--method",
    );
}

/// Generated credentials are base64url and may begin with '-': they are
/// still read as values.
#[test]
fn credentials_starting_with_a_dash_are_values() {
    let h = run(&[
        "--method",
        "GET",
        "--url",
        "http://example.com/",
        "--consumer-key",
        "-key",
        "--consumer-secret",
        "-secret",
        "--token",
        "-tok",
        "--token-secret",
        "-ts",
        "--nonce",
        "n",
        "--timestamp",
        "1",
    ]);
    assert!(
        h.contains("oauth_consumer_key=\"-key\"") && h.contains("oauth_token=\"-tok\""),
        "{h}"
    );
}

/// Hardening item 18: an IRI is signed as the URL a browser puts on the
/// wire (IDNA host, UTF-8 percent-encoded path and query).
#[test]
fn sign_accepts_an_iri_as_a_browser_encodes_it() {
    let common = [
        "--method",
        "GET",
        "--consumer-key",
        "dpf43f3p2l4k3l03",
        "--consumer-secret",
        "kd94hf93k423kf44",
        "--nonce",
        "chapoH",
        "--timestamp",
        "137131202",
    ];
    let sign = |url: &str| {
        let mut args = vec!["--url", url];
        args.extend(common);
        run(&args)
    };
    let iri = sign("https://bücher.example/straße/ä?q=grüße&x=1");
    let wire = sign("https://xn--bcher-kva.example/stra%C3%9Fe/%C3%A4?q=gr%C3%BC%C3%9Fe&x=1");
    assert_eq!(signature_of(&iri), signature_of(&wire));
    // Different text, different signature: the IRI was not mangled away.
    let other = sign("https://xn--bcher-kva.example/strasse/a?q=grusse&x=1");
    assert_ne!(signature_of(&iri), signature_of(&other));
}
