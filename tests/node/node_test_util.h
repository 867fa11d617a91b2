// File: tests/node/node_test_util.h
// Fixtures for node tests: deterministic keys, a small genesis, signed transactions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "itmo/v1/genesis.pb.h"
#include "itmo/v1/tx.pb.h"

namespace itmo::node::testing {

inline constexpr char kChainId[] = "itmo-test";
inline constexpr char kRegistry[] = "CHE-NR";
// The fixed "now" of node tests (2026-01-01; mempools get it as their clock) and the default
// deadline of test transactions.
inline constexpr int64_t kNowMs = 1'767'225'600'000;
inline constexpr uint64_t kValidUntilMs = kNowMs + 5 * 60 * 1000;
inline int64_t FixedNowMs() { return kNowMs; }

// Deterministic key from a one-byte seed.
inline crypto::KeyPair Key(uint8_t seed) {
  return crypto::KeyPair::FromSeed(std::string(32, static_cast<char>(seed))).value();
}

inline crypto::KeyPair RegistryKey() { return Key(100); }
inline crypto::KeyPair ValidatorKey(uint32_t i) { return Key(static_cast<uint8_t>(1 + i)); }

// A genesis with one Party (CHE), its registry CHE-NR and `validators` validators.
inline v1::Genesis TestGenesis(uint32_t validators) {
  v1::Genesis genesis;
  genesis.set_chain_id(kChainId);
  genesis.set_genesis_time_ms(1'700'000'000'000);
  v1::Party* party = genesis.add_parties();
  party->set_code("CHE");
  party->set_name("Switzerland");
  party->set_authority_key(std::string(crypto::AsStringView(Key(50).public_key())));
  v1::NdcPeriod* period = party->add_ndc_periods();
  period->set_first_year(2021);
  period->set_last_year(2030);
  party->set_ca_method(v1::CA_METHOD_MULTI_YEAR);
  v1::Registry* registry = genesis.add_registries();
  registry->set_id(kRegistry);
  registry->set_party("CHE");
  registry->set_registry_key(std::string(crypto::AsStringView(RegistryKey().public_key())));
  genesis.set_secretariat_key(std::string(crypto::AsStringView(Key(60).public_key())));
  for (uint32_t i = 0; i < validators; ++i) {
    v1::Validator* v = genesis.add_validators();
    v->set_name("validator-" + std::to_string(i));
    v->set_party("CHE");
    v->set_consensus_key(std::string(crypto::AsStringView(ValidatorKey(i).public_key())));
    v->set_tls_certificate_pem("-----BEGIN CERTIFICATE-----\nunused\n-----END CERTIFICATE-----\n");
  }
  return genesis;
}

// A signed OpenAccount of account `account_id` in CHE-NR, submitted by the registry.
inline v1::SignedTransaction OpenAccountTx(const std::string& client_tx_id,
                                           const std::string& account_id,
                                           const crypto::KeyPair& signer = RegistryKey(),
                                           uint64_t valid_until_ms = kValidUntilMs) {
  v1::TransactionBody body;
  body.set_chain_id(kChainId);
  body.set_submitter_kind(v1::SUBMITTER_REGISTRY);
  body.set_submitter(kRegistry);
  body.set_client_tx_id(client_tx_id);
  body.set_valid_until_ms(valid_until_ms);
  v1::Account* account = body.mutable_open_account()->mutable_account();
  account->mutable_ref()->set_registry_id(kRegistry);
  account->mutable_ref()->set_account_id(account_id);
  account->set_holder_party("CHE");
  v1::SignedTransaction tx;
  tx.set_body(body.SerializeAsString());
  crypto::Signature signature = signer.Sign(crypto::kContextTransaction, kChainId, tx.body());
  v1::Signature* s = tx.add_signatures();
  s->set_public_key(std::string(crypto::AsStringView(signer.public_key())));
  s->set_signature(std::string(crypto::AsStringView(signature)));
  return tx;
}

}  // namespace itmo::node::testing
