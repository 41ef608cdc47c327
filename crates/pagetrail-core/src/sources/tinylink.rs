//! Tiny links `/x/{code}` (confluence-logs.md §5): a page id, little-endian, in URL-safe base64.
//!
//! Confluence writes the id as 8 little-endian bytes, base64-encodes them, drops the `=` padding,
//! maps `/`→`-` and `+`→`_`, and trims trailing `A`s (zero bits). Decoding re-pads with `A`.

/// The base64 alphabet after Confluence's substitutions.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// 8 bytes are 64 bits: 11 base64 digits of 6 bits, the last 2 bits zero.
const DIGITS: usize = 11;

/// The tiny-link code of a page id (id 0 encodes to the empty code).
pub fn tiny_link_code(id: u64) -> String {
    // Base64 reads the bytes in order, most significant bit first: the little-endian bytes as a
    // big-endian number, shifted to fill 66 bits.
    let bits = u128::from(id.swap_bytes()) << 2;
    let mut out: Vec<u8> = (0..DIGITS).map(|k| ALPHABET[((bits >> (6 * (DIGITS - 1 - k))) & 63) as usize]).collect();
    while out.last() == Some(&b'A') {
        out.pop();
    }
    out.into_iter().map(char::from).collect()
}

/// The page id of a tiny-link code (the path segment after `/x/`); `None` when it is not one:
/// a character outside the alphabet, more than 11 digits, or bits beyond 64.
/// The empty code is id 0, as the encoder writes it.
pub fn tiny_link_page_id(code: &str) -> Option<u64> {
    if code.len() > DIGITS {
        return None;
    }
    let mut bits: u128 = 0;
    for k in 0..DIGITS {
        let v = match code.as_bytes().get(k) {
            Some(&c) => ALPHABET.iter().position(|&a| a == c)? as u128,
            None => 0,
        };
        bits = bits << 6 | v;
    }
    if bits & 3 != 0 {
        return None;
    }
    Some(((bits >> 2) as u64).swap_bytes())
}
