//! How a payment travels, in the format the receiver's 402 chose: x402 v2 (`PAYMENT-*`
//! headers, `uraiden` scheme) when it offers a `uraiden` entry, the seed's `RDN-*` headers
//! otherwise. Only encoding and decoding live here; what to pay, how an answer is booked
//! ([`PaidAnswer`]) and when a receiver's proof is adopted are the session's, one rule for
//! both formats.

use std::fmt;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use uraiden_protocol::{
    header::{SENDER_BALANCE, STATUS_DEADLINE, STATUS_SIGNATURE},
    x402::{
        self,
        names::{PAYMENT_REQUIRED, PAYMENT_RESPONSE},
        LastProof, OfferedPayment, Settlement,
    },
    Address, PaidAnswer, PaymentHeaders, PaywallInfo, Refusal, SignedStatusRequest, U192,
};

/// The format a payment travels in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentFormat {
    /// The seed's `RDN-*` headers.
    Rdn,
    /// x402 v2: `PAYMENT-SIGNATURE`, answered with `PAYMENT-RESPONSE`.
    X402,
}

impl fmt::Display for PaymentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rdn => "RDN-* headers",
            Self::X402 => "x402 (PAYMENT-SIGNATURE)",
        })
    }
}

/// A 402's offer: what a request costs, and the format to pay it in.
#[derive(Clone, Debug)]
pub(crate) struct Offer {
    /// Price, receiver, contract and chain, whichever format named them.
    pub(crate) info: PaywallInfo,
    /// The x402 offer a payment copies back, when the 402 made one.
    x402: Option<Box<OfferedPayment>>,
}

/// Why a 402 did not take a payment, read in the format the payment was sent in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The channel rule the payment broke; `None` when the 402 names none.
    pub(crate) refusal: Option<Refusal>,
    /// x402 only: the payment's `accepted` is not the receiver's offer (it changed since the
    /// 402 paid); nothing was charged.
    pub(crate) stale_offer: bool,
    /// The receiver's last accepted proof, when the 402 names it; unverified.
    pub(crate) last_proof: Option<LastProof>,
}

impl Offer {
    /// Reads a 402: its `uraiden` x402 entry when it has one, else its `RDN-*` headers. The
    /// error names what was wrong with both.
    pub(crate) fn read(headers: &HeaderMap) -> Result<Self, String> {
        let x402_problem = match header(headers, PAYMENT_REQUIRED).map(OfferedPayment::parse_header) {
            Some(Ok(Some(offered))) => {
                return Ok(Self { info: offered.offer.paywall_info(), x402: Some(Box::new(offered)) })
            }
            Some(Err(error)) => Some(error),
            Some(Ok(None)) | None => None,
        };
        PaywallInfo::parse(|name| header(headers, name)).map(|info| Self { info, x402: None }).map_err(
            |error| match x402_problem {
                Some(problem) => format!("{problem}; and no RDN-* headers to pay by instead: {error}"),
                None => error.to_string(),
            },
        )
    }

    /// The format a payment of this offer travels in.
    pub(crate) const fn format(&self) -> PaymentFormat {
        match self.x402 {
            Some(_) => PaymentFormat::X402,
            None => PaymentFormat::Rdn,
        }
    }

    /// The request headers that carry `payment` and, when given, a status request: its refusal
    /// then names the receiver's last accepted proof.
    pub(crate) fn payment_headers(
        &self,
        payment: &PaymentHeaders,
        status: Option<&SignedStatusRequest>,
    ) -> Vec<(&'static str, String)> {
        if let Some(offered) = &self.x402 {
            let payload = x402::payload_json(payment, status);
            return vec![(x402::names::PAYMENT_SIGNATURE, offered.payment_header(payload))];
        }
        let mut pairs = payment.to_header_pairs();
        // Sender and open block are the payment's already.
        let status = status.map(SignedStatusRequest::to_header_pairs).unwrap_or_default();
        pairs.extend(
            status.into_iter().filter(|(name, _)| [STATUS_DEADLINE, STATUS_SIGNATURE].contains(name)),
        );
        pairs
    }

    /// Books the answer to a payment of balance `sent` sent in this format, by the balance the
    /// receiver says the channel holds now: `RDN-Sender-Balance`, or a successful
    /// `PAYMENT-RESPONSE`'s.
    pub(crate) fn book(&self, status: u16, headers: &HeaderMap, sent: U192) -> PaidAnswer {
        let retry_after = header(headers, RETRY_AFTER.as_str());
        match self.x402 {
            Some(_) => {
                let echoed = settlement(headers).and_then(|settled| settled.paid_balance());
                PaidAnswer::of_echoed(status, retry_after, echoed, sent)
            }
            None => PaidAnswer::of(status, retry_after, header(headers, SENDER_BALANCE), sent),
        }
    }

    /// Why this 402 took nothing from a payment of `sender` sent in `format` (a request without
    /// one is read in the 402's own format): an answer is read in the format of what it answers.
    pub(crate) fn refused(&self, format: PaymentFormat, headers: &HeaderMap, sender: Address) -> Refused {
        match format {
            PaymentFormat::Rdn => Refused {
                refusal: Refusal::from_headers(|name| header(headers, name)),
                stale_offer: false,
                last_proof: rdn_last_proof(headers, sender),
            },
            PaymentFormat::X402 => {
                let settled = settlement(headers).filter(|settled| !settled.success);
                let reason = settled.as_ref().and_then(|settled| settled.error_reason.as_deref());
                let offered = self.x402.as_ref().and_then(|offered| offered.error.as_deref());
                let reason = reason.or(offered);
                Refused {
                    refusal: reason.and_then(Refusal::from_x402_code),
                    stale_offer: reason == Some(x402::INVALID_PAYMENT_REQUIREMENTS),
                    last_proof: settled.and_then(|settled| settled.last_proof),
                }
            }
        }
    }
}

/// The last accepted proof of `sender`'s channel that a 402's `RDN-*` headers name.
pub(crate) fn rdn_last_proof(headers: &HeaderMap, sender: Address) -> Option<LastProof> {
    let info = PaywallInfo::parse(|name| header(headers, name)).ok()?;
    if info.sender != Some(sender) {
        return None;
    }
    Some(LastProof { balance: info.sender_balance?, signature: info.balance_signature })
}

fn settlement(headers: &HeaderMap) -> Option<Settlement> {
    header(headers, PAYMENT_RESPONSE).and_then(|value| Settlement::parse_header(value).ok())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use reqwest::header::{HeaderName, HeaderValue};
    use uraiden_protocol::{
        x402::{payment_required_header, UraidenOffer, X402Payment},
        ChannelId, LocalSigningKey, B256,
    };

    use super::*;

    fn info() -> PaywallInfo {
        PaywallInfo {
            gateway_path: "/api/1".into(),
            receiver: Address::repeat_byte(1),
            contract: Address::repeat_byte(2),
            token: Address::repeat_byte(3),
            price: U192::from(5),
            chain_id: 31337,
            sender: None,
            sender_balance: None,
            balance_signature: None,
        }
    }

    fn headers(pairs: &[(&str, String)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (HeaderName::try_from(*name).unwrap(), HeaderValue::try_from(value.as_str()).unwrap())
            })
            .collect()
    }

    /// A 402 with the `RDN-*` headers and, when `x402` is given, `PAYMENT-REQUIRED` beside them.
    fn payment_required(x402: Option<String>) -> HeaderMap {
        let mut pairs = info().to_header_pairs();
        pairs.extend(x402.map(|value| (PAYMENT_REQUIRED, value)));
        headers(&pairs)
    }

    fn offered(error: Option<&str>) -> String {
        payment_required_header(&UraidenOffer::new(&info()), "http://127.0.0.1/x", error)
    }

    fn key() -> LocalSigningKey {
        LocalSigningKey::from_bytes(&B256::repeat_byte(7)).unwrap()
    }

    fn payment(balance: u64) -> PaymentHeaders {
        let (info, key) = (info(), key());
        let channel = ChannelId::new(key.address(), info.receiver, 42);
        let balance = U192::from(balance);
        PaymentHeaders {
            contract: info.contract,
            receiver: info.receiver,
            sender: key.address(),
            open_block_number: 42,
            balance,
            balance_signature: key
                .sign_balance_proof(&info.domain(), &channel.balance_proof(balance))
                .unwrap(),
            payment: Some(info.price),
        }
    }

    fn status() -> SignedStatusRequest {
        let channel = ChannelId::new(key().address(), info().receiver, 42);
        SignedStatusRequest::sign(&key(), &info().domain(), channel, 1_000).unwrap()
    }

    fn settled(settlement: &Settlement) -> (&'static str, String) {
        (PAYMENT_RESPONSE, settlement.to_header_value())
    }

    #[test]
    fn a_402_offering_uraiden_is_paid_through_x402_and_any_other_through_rdn() {
        let x402 = Offer::read(&payment_required(Some(offered(None)))).unwrap();
        assert_eq!((x402.format(), x402.info), (PaymentFormat::X402, info()));
        let rdn = Offer::read(&payment_required(None)).unwrap();
        assert_eq!((rdn.format(), rdn.info), (PaymentFormat::Rdn, info()));

        // Only other schemes offered, or an x402 offer that cannot be read: the RDN-* headers pay.
        let exact = r#"{"x402Version":2,"accepts":[{"scheme":"exact","network":"eip155:1"}]}"#;
        let others = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, exact);
        assert_eq!(Offer::read(&payment_required(Some(others))).unwrap().format(), PaymentFormat::Rdn);
        let broken = payment_required(Some("%%%".into()));
        assert_eq!(Offer::read(&broken).unwrap().format(), PaymentFormat::Rdn);

        // Neither usable: the error names both.
        let error = Offer::read(&headers(&[(PAYMENT_REQUIRED, "%%%".into())])).unwrap_err();
        assert!(error.starts_with("PAYMENT-REQUIRED: not base64"), "{error}");
        assert!(error.contains("no RDN-* headers to pay by instead"), "{error}");
        assert!(error.contains("RDN-Gateway-Path"), "{error}");
        assert!(Offer::read(&HeaderMap::new()).unwrap_err().contains("RDN-Gateway-Path"));
    }

    #[test]
    fn an_x402_payment_is_one_payment_signature_with_the_status_request_if_asked() {
        let offer = Offer::read(&payment_required(Some(offered(None)))).unwrap();
        for status in [None, Some(status())] {
            let sent = offer.payment_headers(&payment(15), status.as_ref());
            assert_eq!(sent.len(), 1, "no RDN-* header beside it: {sent:?}");
            assert_eq!(sent[0].0, x402::names::PAYMENT_SIGNATURE);
            let read = X402Payment::parse_header(&sent[0].1).unwrap();
            assert_eq!(read.accepted, UraidenOffer::new(&info()));
            assert_eq!((read.payment, read.status), (payment(15), status));
        }
    }

    #[test]
    fn an_rdn_payment_is_its_headers_and_the_status_request_adds_its_deadline_and_signature() {
        let offer = Offer::read(&payment_required(None)).unwrap();
        assert_eq!(offer.payment_headers(&payment(15), None), payment(15).to_header_pairs());
        let sent = offer.payment_headers(&payment(15), Some(&status()));
        let mut expected = payment(15).to_header_pairs();
        expected.push((STATUS_DEADLINE, "1000".into()));
        expected.push((STATUS_SIGNATURE, status().signature.to_hex()));
        assert_eq!(sent, expected);
    }

    #[test]
    fn an_answer_is_booked_by_the_balance_its_payments_format_echoes() {
        let (x402, rdn) = (
            Offer::read(&payment_required(Some(offered(None)))).unwrap(),
            Offer::read(&payment_required(None)).unwrap(),
        );
        let sender = key().address();
        let paid = settled(&Settlement::paid(31337, sender, U192::from(5), U192::from(15)));
        let echoed = (SENDER_BALANCE, "15".to_owned());
        let sent = U192::from(15);
        let both = headers(&[paid.clone(), echoed.clone()]);
        assert_eq!(x402.book(200, &both, sent), PaidAnswer::Charged);
        assert_eq!(rdn.book(200, &both, sent), PaidAnswer::Charged);
        // Each format is read from its own header only.
        assert_eq!(x402.book(200, &headers(std::slice::from_ref(&echoed)), sent), PaidAnswer::NotCharged);
        assert_eq!(rdn.book(200, &headers(std::slice::from_ref(&paid)), sent), PaidAnswer::NotCharged);
        // Another balance, a failed settlement, or a malformed one took nothing.
        let other = settled(&Settlement::paid(31337, sender, U192::from(5), U192::from(10)));
        assert_eq!(x402.book(200, &headers(&[other]), sent), PaidAnswer::NotCharged);
        let mut failed = Settlement::failed(31337, Some(sender), "invalid_amount", "m");
        failed.balance = Some(sent);
        assert_eq!(x402.book(402, &headers(&[settled(&failed)]), sent), PaidAnswer::NotCharged);
        let garbled = headers(&[(PAYMENT_RESPONSE, "%%%".into())]);
        assert_eq!(x402.book(200, &garbled, sent), PaidAnswer::NotCharged);
        // A rate limit is one for both.
        let limited = headers(&[("retry-after", "2".into())]);
        for offer in [&x402, &rdn] {
            assert_eq!(
                offer.book(429, &limited, sent),
                PaidAnswer::RateLimited { wait_secs: Some(2), retry_after_secs: Some(2) }
            );
        }
    }

    #[test]
    fn an_x402_refusal_names_its_rule_and_the_last_proof() {
        let sender = key().address();
        let last = LastProof { balance: U192::from(10), signature: Some(payment(10).balance_signature) };
        let mut failed = Settlement::failed(31337, Some(sender), "invalid_amount", "m");
        failed.last_proof = Some(last.clone());
        let required = offered(Some("invalid_amount"));
        let answer = |extra: &[(&str, String)]| {
            let mut answer = payment_required(Some(required.clone()));
            answer.extend(headers(extra));
            answer
        };
        // As the session does: the 402's own offer reads it.
        let read =
            |headers: &HeaderMap, format| Offer::read(headers).unwrap().refused(format, headers, sender);

        let refused = read(&answer(&[settled(&failed)]), PaymentFormat::X402);
        assert_eq!(
            refused,
            Refused { refusal: Some(Refusal::InvalidAmount), stale_offer: false, last_proof: Some(last) }
        );
        // Without PAYMENT-RESPONSE, PAYMENT-REQUIRED's error names it; no proof.
        let refused = read(&answer(&[]), PaymentFormat::X402);
        assert_eq!(refused, Refused { refusal: Some(Refusal::InvalidAmount), ..Refused::default() });
        // The RDN-* refusal header does not answer an x402 payment, nor x402 an RDN one.
        let rdn_refusal = [(Refusal::InvalidBalanceProof.header_name(), "invalid-balance-proof".to_owned())];
        let plain = payment_required(Some(offered(None)));
        let mut rdn_only = plain.clone();
        rdn_only.extend(headers(&rdn_refusal));
        assert_eq!(read(&rdn_only, PaymentFormat::X402), Refused::default());
        assert_eq!(read(&rdn_only, PaymentFormat::Rdn).refusal, Some(Refusal::InvalidBalanceProof));
        assert_eq!(read(&answer(&[settled(&failed)]), PaymentFormat::Rdn), Refused::default());

        // `accepted` was not the offer: nothing charged, no rule broken.
        let stale = Settlement::failed(31337, Some(sender), x402::INVALID_PAYMENT_REQUIREMENTS, "m");
        let refused = read(&answer(&[settled(&stale)]), PaymentFormat::X402);
        assert_eq!(refused, Refused { stale_offer: true, ..Refused::default() });
        // A successful settlement on a 402 refuses nothing by name (the session gives up).
        let paid = Settlement::paid(31337, sender, U192::from(5), U192::from(15));
        let mut paid_402 = payment_required(Some(offered(None)));
        paid_402.extend(headers(&[settled(&paid)]));
        assert_eq!(read(&paid_402, PaymentFormat::X402), Refused::default());
    }

    #[test]
    fn an_rdn_refusal_names_the_last_proof_of_our_channel_only() {
        let sender = key().address();
        let signature = payment(10).balance_signature;
        let with = |last: &PaywallInfo| {
            let (name, code) = Refusal::InvalidAmount.to_header_pair();
            let mut pairs = last.to_header_pairs();
            pairs.push((name, code.to_owned()));
            headers(&pairs)
        };
        let ours = PaywallInfo {
            sender: Some(sender),
            sender_balance: Some(U192::from(10)),
            balance_signature: Some(signature),
            ..info()
        };
        let offer = Offer::read(&payment_required(None)).unwrap();
        let refused = offer.refused(PaymentFormat::Rdn, &with(&ours), sender);
        assert_eq!(refused.refusal, Some(Refusal::InvalidAmount));
        assert_eq!(
            refused.last_proof,
            Some(LastProof { balance: U192::from(10), signature: Some(signature) })
        );
        let unsigned = PaywallInfo { balance_signature: None, ..ours.clone() };
        assert_eq!(
            offer.refused(PaymentFormat::Rdn, &with(&unsigned), sender).last_proof,
            Some(LastProof { balance: U192::from(10), signature: None })
        );
        let theirs = PaywallInfo { sender: Some(Address::repeat_byte(9)), ..ours };
        assert_eq!(offer.refused(PaymentFormat::Rdn, &with(&theirs), sender).last_proof, None);
        // A status request's answer: a balance of 0 needs no signature.
        let nothing = PaywallInfo { sender: Some(sender), sender_balance: Some(U192::ZERO), ..info() };
        assert_eq!(
            rdn_last_proof(&with(&nothing), sender),
            Some(LastProof { balance: U192::ZERO, signature: None })
        );
    }
}
