//! How a payment travels: one module per wire format. The paywall detects the format of a
//! request, the channel rules decide, and the answer is written in the format the client
//! used (a 402 always offers both).
//!
//! - `rdn`: the seed's `RDN-*` headers, or cookies of the same names.
//! - `x402`: x402 v2's `PAYMENT-SIGNATURE` / `PAYMENT-REQUIRED` / `PAYMENT-RESPONSE`.

pub(crate) mod rdn;
pub(crate) mod x402;
