//! What a receiver's answer to a paid request means for the sender's records (SPEC §7: a
//! payment counts only once the receiver accepted it). One rule for every sender: the native
//! `Session` and the browser's `payingFetch` both book an answer by [`PaidAnswer::of`].

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
    /// headers (409), or could not check it or serve the request (502). The channel's balance
    /// is still the last accepted one.
    NotCharged,
    /// A rate limit refused the request (429): nothing was charged, and the same proof pays
    /// once the wait is over. `wait_secs` is the `Retry-After` when it is short enough to wait
    /// out ([`MAX_RATE_LIMIT_WAIT_SECS`]), else `None`: the sender gives up, with its last
    /// accepted balance, and says when to retry (`retry_after_secs`, if the receiver said).
    RateLimited { wait_secs: Option<u64>, retry_after_secs: Option<u64> },
}

impl PaidAnswer {
    /// Books an answer by its status and `Retry-After` header (delta-seconds; an HTTP date
    /// or anything else counts as not said).
    pub fn of(status: u16, retry_after: Option<&str>) -> Self {
        match status {
            402 | 409 | 502 => Self::NotCharged,
            429 => {
                let retry_after_secs = retry_after.and_then(|value| value.trim().parse::<u64>().ok());
                let wait_secs = retry_after_secs.filter(|secs| *secs <= MAX_RATE_LIMIT_WAIT_SECS);
                Self::RateLimited { wait_secs, retry_after_secs }
            }
            _ => Self::Charged,
        }
    }

    /// Whether the proof sent is the channel's balance now.
    pub const fn charged(self) -> bool {
        matches!(self, Self::Charged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_that_took_the_payment_count_it() {
        for status in [200, 204, 303, 404, 500] {
            assert!(PaidAnswer::of(status, None).charged(), "{status}");
        }
        for status in [402, 409, 502] {
            assert_eq!(PaidAnswer::of(status, None), PaidAnswer::NotCharged, "{status}");
        }
        assert!(!PaidAnswer::of(429, Some("1")).charged());
    }

    #[test]
    fn a_short_retry_after_is_waited_out_and_a_long_one_is_not() {
        assert_eq!(
            PaidAnswer::of(429, Some(" 2 ")),
            PaidAnswer::RateLimited { wait_secs: Some(2), retry_after_secs: Some(2) }
        );
        assert_eq!(
            PaidAnswer::of(429, Some("10")),
            PaidAnswer::RateLimited { wait_secs: Some(10), retry_after_secs: Some(10) }
        );
        assert_eq!(
            PaidAnswer::of(429, Some("3600")),
            PaidAnswer::RateLimited { wait_secs: None, retry_after_secs: Some(3600) }
        );
        for unusable in [None, Some("Wed, 21 Oct 2026 07:28:00 GMT"), Some("-1"), Some("")] {
            assert_eq!(
                PaidAnswer::of(429, unusable),
                PaidAnswer::RateLimited { wait_secs: None, retry_after_secs: None },
                "{unusable:?}"
            );
        }
    }
}
