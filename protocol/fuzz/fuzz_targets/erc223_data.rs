//! The data of an ERC223 transfer to the channel manager: only 40, 44 and 60 bytes decode,
//! and what decodes encodes back to the same bytes (the contract reads them the same way).
#![no_main]

use libfuzzer_sys::fuzz_target;
use uraiden_protocol::TokenFallbackData;

fuzz_target!(|data: &[u8]| {
    match TokenFallbackData::decode(data) {
        Ok(decoded) => assert_eq!(decoded.encode().as_ref(), data),
        Err(_) => assert!(![40, 44, 60].contains(&data.len()), "{} bytes refused", data.len()),
    }
});
