//! What a receiver's answer to a paid request means for the sender's records (SPEC §7: a
//! payment counts only once the receiver accepted it). One rule for every sender: the native
//! `Session` and the browser's `payingFetch` both book an answer by [`PaidAnswer::of`].

use crate::{parse_amount, U192};

/// The longest `Retry-After` (seconds) a sender waits out before sending the same proof
/// again; a longer one ends the request with an error that says when to retry.
pub const MAX_RATE_LIMIT_WAIT_SECS: u64 = 10;

/// How many times a sender sends the same proof again after a 429, within one request.
pub const MAX_RATE_LIMIT_RETRIES: u32 = 3;

/// How a sender books the answer to a request that carried a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaidAnswer {
    /// The receiver took the payment: the proof sent is the channel's balance now.
    Charged,
    /// Nothing was charged: the receiver refused the payment (402, with its reason), its
    /// headers (409), could not check it or serve the request (502, 503), or the answer is
    /// not the paywall's. The channel's balance is still the last accepted one.
    NotCharged,
    /// A rate limit refused the request (429): nothing was charged, and the same proof pays
    /// once the wait is over. `wait_secs` is the `Retry-After` when it is short enough to wait
    /// out ([`MAX_RATE_LIMIT_WAIT_SECS`]), else `None`: the sender gives up, with its last
    /// accepted balance, and says when to retry (`retry_after_secs`, if the receiver said).
    RateLimited { wait_secs: Option<u64>, retry_after_secs: Option<u64> },
}

impl PaidAnswer {
    /// Books an answer by what the receiver says it now holds, not by its status: a
    /// receiver that took the payment answers with `RDN-Sender-Balance` naming the balance
    /// sent (`echoed_balance`), whatever the status (in proxy mode an upstream's 404, 429 or
    /// 502 is a paid answer too), and its own refusals (402, 409, 429, 502, 503) never do.
    /// A 429 without it is a rate limit, read with its `Retry-After` (delta-seconds; an
    /// HTTP date or anything else counts as not said).
    pub fn of(status: u16, retry_after: Option<&str>, echoed_balance: Option<&str>, sent: U192) -> Self {
        let echoed = echoed_balance.and_then(|value| parse_amount(value.trim()).ok());
        Self::of_echoed(status, retry_after, echoed, sent)
    }

    /// [`of`](Self::of) with the echoed balance read already: from `RDN-Sender-Balance`, or
    /// from x402's `PAYMENT-RESPONSE` ([`Settlement::paid_balance`](crate::x402::Settlement::paid_balance)).
    pub fn of_echoed(status: u16, retry_after: Option<&str>, echoed: Option<U192>, sent: U192) -> Self {
        if echoed == Some(sent) {
            return Self::Charged;
        }
        if status != 429 {
            return Self::NotCharged;
        }
        let retry_after_secs = retry_after.and_then(|value| value.trim().parse::<u64>().ok());
        let wait_secs = retry_after_secs.filter(|secs| *secs <= MAX_RATE_LIMIT_WAIT_SECS);
        Self::RateLimited { wait_secs, retry_after_secs }
    }

    /// Whether the proof sent is the channel's balance now.
    pub const fn charged(self) -> bool {
        matches!(self, Self::Charged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENT: u64 = 40;

    fn answer(status: u16, retry_after: Option<&str>, echoed: Option<&str>) -> PaidAnswer {
        PaidAnswer::of(status, retry_after, echoed, U192::from(SENT))
    }

    #[test]
    fn an_answer_naming_the_balance_sent_took_it_whatever_its_status() {
        // In proxy mode the upstream's status goes back with the paywall's headers.
        for status in [200, 204, 303, 404, 429, 500, 502, 503] {
            assert_eq!(answer(status, None, Some("40")), PaidAnswer::Charged, "{status}");
        }
    }

    #[test]
    fn an_answer_naming_no_balance_or_another_took_nothing() {
        // A paywall's own refusals, and answers that are not the paywall's at all.
        for status in [200, 204, 402, 409, 500, 502, 503] {
            for echoed in [None, Some("35"), Some("45"), Some("0x28"), Some("040"), Some("")] {
                assert_eq!(answer(status, None, echoed), PaidAnswer::NotCharged, "{status} {echoed:?}");
            }
        }
    }

    #[test]
    fn a_short_retry_after_is_waited_out_and_a_long_one_is_not() {
        assert_eq!(
            answer(429, Some(" 2 "), None),
            PaidAnswer::RateLimited { wait_secs: Some(2), retry_after_secs: Some(2) }
        );
        assert_eq!(
            answer(429, Some("10"), Some("35")),
            PaidAnswer::RateLimited { wait_secs: Some(10), retry_after_secs: Some(10) }
        );
        assert_eq!(
            answer(429, Some("3600"), None),
            PaidAnswer::RateLimited { wait_secs: None, retry_after_secs: Some(3600) }
        );
        for unusable in [None, Some("Wed, 21 Oct 2026 07:28:00 GMT"), Some("-1"), Some("")] {
            assert_eq!(
                answer(429, unusable, None),
                PaidAnswer::RateLimited { wait_secs: None, retry_after_secs: None },
                "{unusable:?}"
            );
        }
    }
}
