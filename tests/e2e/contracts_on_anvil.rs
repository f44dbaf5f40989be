//! The shared protocol crate against the real contracts on a real anvil: the deployed
//! channel manager hashes and recovers exactly what Rust predicts, and channels opened the
//! ways clients open them settle with Rust-signed proofs.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::{SolError, SolEvent},
};
use serde::Deserialize;
use uraiden_chain::contracts::{CustomToken, RaidenMicroTransferChannels};
use uraiden_e2e::{repo_root, TestChain};
use uraiden_protocol::{
    channel_manager_domain, eip712_signing_hash, recover_balance_proof_signer, ChannelId, LocalSigningKey,
    ProofSignature, TokenFallbackData, U192,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vectors {
    domain: VectorDomain,
    domain_separator: B256,
    cases: Vec<VectorCase>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VectorDomain {
    chain_id: u64,
    verifying_contract: Address,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VectorCase {
    name: String,
    primary_type: String,
    private_key: B256,
    signer: Address,
    message: VectorMessage,
    digest: B256,
    signature: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VectorMessage {
    sender: Address,
    receiver: Address,
    open_block_number: u32,
    balance: String,
}

fn load_vectors() -> Vectors {
    let path = repo_root().join("tests/vectors/eip712.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("tests/vectors/eip712.json has the documented shape")
}

#[tokio::test]
async fn deployed_contract_hashes_and_recovers_what_rust_predicts() -> anyhow::Result<()> {
    let chain = TestChain::start().await?;
    let vectors = load_vectors();
    let provider = chain.provider(chain.key(0));
    let manager = RaidenMicroTransferChannels::new(chain.deployment.channel_manager, &provider);

    // The vectors were made for this exact deployment: anvil's account 0, nonces 0 and 1.
    assert_eq!(chain.deployment.channel_manager, vectors.domain.verifying_contract);
    assert_eq!(provider.get_chain_id().await?, vectors.domain.chain_id);

    // ERC-5267: the contract announces the domain that Rust builds.
    let announced = manager.eip712Domain().call().await?;
    let domain = channel_manager_domain(vectors.domain.chain_id, chain.deployment.channel_manager);
    assert_eq!(Some(announced.name.into()), domain.name);
    assert_eq!(Some(announced.version.into()), domain.version);
    assert_eq!(Some(announced.chainId), domain.chain_id);
    assert_eq!(Some(announced.verifyingContract), domain.verifying_contract);
    assert_eq!(manager.domainSeparator().call().await?, domain.separator());
    assert_eq!(domain.separator(), vectors.domain_separator);

    assert!(vectors.cases.len() >= 8, "the vectors file lost cases");
    for case in &vectors.cases {
        let m = &case.message;
        let channel = ChannelId::new(m.sender, m.receiver, m.open_block_number);
        let balance: U192 = m.balance.parse()?;
        let signature = ProofSignature::from_hex(&case.signature)?;
        let (rust_digest, contract_digest, contract_signer) = match case.primary_type.as_str() {
            "BalanceProof" => {
                let proof = channel.balance_proof(balance);
                let rust_signer = recover_balance_proof_signer(&domain, &proof, &signature)?;
                assert_eq!(rust_signer, case.signer, "{}: Rust recovery", case.name);
                (
                    eip712_signing_hash(&domain, &proof),
                    manager
                        .hashBalanceProof(m.sender, m.receiver, m.open_block_number, balance)
                        .call()
                        .await?,
                    manager
                        .extractBalanceProofSignature(
                            m.sender,
                            m.receiver,
                            m.open_block_number,
                            balance,
                            signature.as_bytes().to_vec().into(),
                        )
                        .call()
                        .await?,
                )
            }
            "ClosingProof" => {
                let proof = channel.closing_proof(balance);
                (
                    eip712_signing_hash(&domain, &proof),
                    manager
                        .hashClosingProof(m.sender, m.receiver, m.open_block_number, balance)
                        .call()
                        .await?,
                    manager
                        .extractClosingSignature(
                            m.sender,
                            m.receiver,
                            m.open_block_number,
                            balance,
                            signature.as_bytes().to_vec().into(),
                        )
                        .call()
                        .await?,
                )
            }
            other => panic!("{}: unknown primary type {other}", case.name),
        };
        assert_eq!(rust_digest, case.digest, "{}: Rust digest", case.name);
        assert_eq!(contract_digest, case.digest, "{}: contract digest", case.name);
        assert_eq!(contract_signer, case.signer, "{}: contract recovery", case.name);
        // Signing in Rust with the vector's key reproduces the vector's signature exactly.
        let key = LocalSigningKey::from_bytes(&case.private_key)?;
        assert_eq!(key.sign_digest(&rust_digest)?.to_hex(), case.signature, "{}: Rust signature", case.name);
    }
    Ok(())
}

/// Token units with 18 decimals.
fn tokens(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(18))
}

async fn balance_of(
    token: &CustomToken::CustomTokenInstance<impl Provider>,
    who: Address,
) -> anyhow::Result<U256> {
    Ok(token.balanceOf(who).call().await?)
}

#[tokio::test]
async fn delegated_signer_channel_opened_by_erc20_settles_with_rust_proofs() -> anyhow::Result<()> {
    let chain = TestChain::start().await?;
    let (sender, receiver, stranger) = (chain.address(2), chain.address(1), chain.address(3));
    let deployer = chain.provider(chain.key(0));
    let as_sender = chain.provider(chain.key(2));
    let token = CustomToken::new(chain.deployment.token, &as_sender);
    let manager = RaidenMicroTransferChannels::new(chain.deployment.channel_manager, &as_sender);

    CustomToken::new(chain.deployment.token, &deployer)
        .transfer_0(sender, tokens(100))
        .send()
        .await?
        .get_receipt()
        .await?;

    // A session key as the browser makes one: not an account, never holds ETH.
    let session = LocalSigningKey::from_bytes(&B256::repeat_byte(0x42))?;
    let deposit = U192::from(tokens(10));
    token.approve(chain.deployment.channel_manager, U256::from(deposit)).send().await?.get_receipt().await?;
    let receipt = manager
        .createChannelWithSigner(receiver, deposit, session.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "createChannelWithSigner reverted");
    let open_block = u32::try_from(receipt.block_number.expect("mined"))?;
    let created = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| RaidenMicroTransferChannels::ChannelCreated::decode_log_data(log.data()).ok())
        .expect("ChannelCreated emitted");
    assert_eq!(
        (created.sender, created.receiver, created.deposit, created.signer),
        (sender, receiver, deposit, session.address())
    );
    assert_eq!(manager.getChannelSigner(sender, receiver, open_block).call().await?, session.address());

    let domain = channel_manager_domain(chain.deployment.chain_id, chain.deployment.channel_manager);
    let channel = ChannelId::new(sender, receiver, open_block);
    let balance = U192::from(tokens(3));
    let balance_sig = session.sign_balance_proof(&domain, &channel.balance_proof(balance))?;
    let receiver_key = LocalSigningKey::from_bytes(&chain.key(1).to_bytes())?;
    let closing_sig = receiver_key.sign_closing_proof(&domain, &channel.closing_proof(balance))?;

    // A proof signed by anyone but the signer or the sender does not close the channel.
    let intruder = LocalSigningKey::from_bytes(&chain.key(3).to_bytes())?;
    let forged = intruder.sign_balance_proof(&domain, &channel.balance_proof(balance))?;
    let as_stranger =
        RaidenMicroTransferChannels::new(chain.deployment.channel_manager, chain.provider(chain.key(3)));
    let refused = as_stranger
        .cooperativeClose(
            sender,
            receiver,
            open_block,
            balance,
            forged.as_bytes().to_vec().into(),
            closing_sig.as_bytes().to_vec().into(),
        )
        .call()
        .await;
    assert!(refused.is_err(), "a stranger's balance proof closed the channel");

    let before = (
        balance_of(&token, sender).await?,
        balance_of(&token, receiver).await?,
        balance_of(&token, stranger).await?,
    );
    // Anyone may submit the cooperative close: here the stranger pays the gas.
    let receipt = as_stranger
        .cooperativeClose(
            sender,
            receiver,
            open_block,
            balance,
            balance_sig.as_bytes().to_vec().into(),
            closing_sig.as_bytes().to_vec().into(),
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status(), "cooperativeClose with Rust-signed proofs reverted");
    let after = (
        balance_of(&token, sender).await?,
        balance_of(&token, receiver).await?,
        balance_of(&token, stranger).await?,
    );
    assert_eq!(after.0 - before.0, U256::from(deposit - balance), "sender gets the unspent deposit back");
    assert_eq!(after.1 - before.1, U256::from(balance), "receiver gets exactly the proven balance");
    assert_eq!(after.2, before.2, "the submitter gets nothing");
    assert!(
        manager.getChannelInfo(sender, receiver, open_block).call().await.is_err(),
        "channel still exists"
    );
    Ok(())
}

#[tokio::test]
async fn erc223_data_from_rust_opens_and_tops_up_channels() -> anyhow::Result<()> {
    let chain = TestChain::start().await?;
    let (sender, receiver) = (chain.address(4), chain.address(1));
    let deployer = chain.provider(chain.key(0));
    CustomToken::new(chain.deployment.token, &deployer)
        .transfer_0(sender, tokens(50))
        .send()
        .await?
        .get_receipt()
        .await?;
    let as_sender = chain.provider(chain.key(4));
    let manager = RaidenMicroTransferChannels::new(chain.deployment.channel_manager, &as_sender);
    let session = LocalSigningKey::from_bytes(&B256::repeat_byte(0x07))?;

    // Open with a delegated signer in one token transfer (60-byte data).
    let deposit = U192::from(tokens(5));
    let open = TokenFallbackData::CreateChannelWithSigner { sender, receiver, signer: session.address() };
    let tx = TransactionRequest::default()
        .with_to(chain.deployment.token)
        .with_input(open.transfer_calldata(chain.deployment.channel_manager, deposit));
    let receipt = as_sender.send_transaction(tx).await?.get_receipt().await?;
    assert!(receipt.status(), "ERC223 create reverted");
    let open_block = u32::try_from(receipt.block_number.expect("mined"))?;
    let info = manager.getChannelInfo(sender, receiver, open_block).call().await?;
    assert_eq!(info.deposit, deposit);
    assert_eq!(
        info.key,
        ChannelId::new(sender, receiver, open_block).key().0,
        "channel key as Rust computes it"
    );
    assert_eq!(manager.getChannelSigner(sender, receiver, open_block).call().await?, session.address());

    // Top up the same channel (44-byte data).
    let added = U192::from(tokens(2));
    let top_up = TokenFallbackData::TopUp { channel: ChannelId::new(sender, receiver, open_block) };
    let tx = TransactionRequest::default()
        .with_to(chain.deployment.token)
        .with_input(top_up.transfer_calldata(chain.deployment.channel_manager, added));
    assert!(as_sender.send_transaction(tx).await?.get_receipt().await?.status(), "ERC223 top-up reverted");
    let info = manager.getChannelInfo(sender, receiver, open_block).call().await?;
    assert_eq!(info.deposit, deposit + added);
    Ok(())
}

#[tokio::test]
async fn erc223_data_naming_another_sender_is_refused() -> anyhow::Result<()> {
    let chain = TestChain::start().await?;
    let (victim, receiver, stranger) = (chain.address(4), chain.address(1), chain.address(5));
    let deployer = chain.provider(chain.key(0));
    CustomToken::new(chain.deployment.token, &deployer)
        .transfer_0(stranger, tokens(50))
        .send()
        .await?
        .get_receipt()
        .await?;
    let as_stranger = chain.provider(chain.key(5));

    // A zero-value transfer opening a channel in the victim's name with the stranger's signer,
    // then a paid one: both refused, naming the stranger and the victim.
    let hijack = TokenFallbackData::CreateChannelWithSigner { sender: victim, receiver, signer: stranger };
    for value in [U192::ZERO, U192::from(tokens(5))] {
        let tx = TransactionRequest::default()
            .with_to(chain.deployment.token)
            .with_input(hijack.transfer_calldata(chain.deployment.channel_manager, value));
        let refusal = format!("{:?}", as_stranger.send_transaction(tx).await.err());
        let selector = alloy::hex::encode(RaidenMicroTransferChannels::TokenSenderMismatch::SELECTOR);
        assert!(refusal.contains(&selector), "not refused with TokenSenderMismatch: {refusal}");
    }
    assert_eq!(chain.token_balance(stranger).await, U256::from(tokens(50)), "nothing moved");
    Ok(())
}
