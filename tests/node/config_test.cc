// File: tests/node/config_test.cc
#include "node/config.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "node/genesis.h"
#include "tests/node/node_test_util.h"
#include "tests/testing/status_matchers.h"

namespace itmo::node {
namespace {

using ::itmo::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kValid[] = R"(
[node]
name = "validator-0"
role = "validator"
data_dir = "data/v0"
genesis = "genesis.json"
consensus_key = "keys/v0.key"
tls_cert = "tls/v0.crt"
tls_key = "/abs/tls/v0.key"

[api]
listen = "127.0.0.1:7100"

[peer]
listen = "127.0.0.1:7200"

[[peers]]
name = "validator-1"
address = "127.0.0.1:7201"

[[peers]]
name = "validator-2"
address = "127.0.0.1:7202"

[limits]
mempool_txs_max = 1000
block_txs_max = 500

[log]
level = "debug"
json = true
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ConfigTest, ParsesEveryFieldAndResolvesRelativePaths) {
  ASSERT_OK_AND_ASSIGN(NodeConfig config, ParseConfig(kValid, "/etc/itmo/config.toml"));
  EXPECT_EQ(config.name, "validator-0");
  EXPECT_EQ(config.role, Role::kValidator);
  EXPECT_EQ(config.data_dir, "/etc/itmo/data/v0");
  EXPECT_EQ(config.genesis_path, "/etc/itmo/genesis.json");
  EXPECT_EQ(config.consensus_key, "/etc/itmo/keys/v0.key");
  EXPECT_EQ(config.tls_cert, "/etc/itmo/tls/v0.crt");
  EXPECT_EQ(config.tls_key, "/abs/tls/v0.key");
  EXPECT_EQ(config.api_listen, "127.0.0.1:7100");
  EXPECT_EQ(config.peer_listen, "127.0.0.1:7200");
  ASSERT_EQ(config.peers.size(), 2u);
  EXPECT_EQ(config.peers[1].name, "validator-2");
  EXPECT_EQ(config.peers[1].address, "127.0.0.1:7202");
  EXPECT_EQ(config.limits.mempool_txs_max, 1000u);
  EXPECT_EQ(config.limits.block_txs_max, 500u);
  EXPECT_EQ(config.limits.mempool_bytes_max, kMempoolBytesMax);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_TRUE(config.log_json);
}

TEST(ConfigTest, MissingNameIsNamed) {
  absl::StatusOr<NodeConfig> config =
      ParseConfig(Replace(kValid, "name = \"validator-0\"\n", ""), "c.toml");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("c.toml: [node] name"));
}

TEST(ConfigTest, BadRoleIsNamed) {
  absl::StatusOr<NodeConfig> config =
      ParseConfig(Replace(kValid, "role = \"validator\"", "role = \"leader\""), "c.toml");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("[node] role"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("leader"));
}

TEST(ConfigTest, ValidatorNeedsConsensusKeyObserverMustNotHaveOne) {
  absl::StatusOr<NodeConfig> config =
      ParseConfig(Replace(kValid, "consensus_key = \"keys/v0.key\"\n", ""), "c.toml");
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("[node] consensus_key"));
  config = ParseConfig(Replace(kValid, "role = \"validator\"", "role = \"observer\""), "c.toml");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("observer must not"));
}

TEST(ConfigTest, WrongTypeIsNamed) {
  absl::StatusOr<NodeConfig> config =
      ParseConfig(Replace(kValid, "data_dir = \"data/v0\"", "data_dir = 7"), "c.toml");
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("[node] data_dir: must be a string"));
  config = ParseConfig(Replace(kValid, "json = true", "json = \"yes\""), "c.toml");
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("[log] json"));
}

TEST(ConfigTest, LimitsMayOnlyBeLowered) {
  absl::StatusOr<NodeConfig> config =
      ParseConfig(Replace(kValid, "block_txs_max = 500", "block_txs_max = 99999999"), "c.toml");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("[limits] block_txs_max"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("compiled-in limit"));
  config = ParseConfig(Replace(kValid, "block_txs_max = 500", "block_txs_max = 0"), "c.toml");
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("must be positive"));
}

TEST(ConfigTest, BadListenAndDuplicatePeerAreNamed) {
  absl::StatusOr<NodeConfig> config =
      ParseConfig(Replace(kValid, "\"127.0.0.1:7100\"", "\"localhost\""), "c.toml");
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("[api] listen"));
  config =
      ParseConfig(Replace(kValid, "name = \"validator-2\"", "name = \"validator-1\""), "c.toml");
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("[peers.1] name: duplicate"));
}

TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  absl::StatusOr<NodeConfig> config = ParseConfig("[node]\nname = \n", "c.toml");
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("c.toml:2"));
}

TEST(ConfigTest, MissingFileIsNotFound) {
  EXPECT_THAT(LoadConfig("/nonexistent/config.toml"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(GenesisTest, ParsesJsonAndFindsNodes) {
  v1::Genesis genesis = testing::TestGenesis(4);
  v1::Observer* observer = genesis.add_observers();
  observer->set_name("observer-0");
  observer->set_tls_certificate_pem("pem");
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(genesis, &json).ok());
  ASSERT_OK_AND_ASSIGN(v1::Genesis parsed, ParseGenesis(json, "genesis.json"));
  EXPECT_EQ(parsed.chain_id(), testing::kChainId);
  EXPECT_EQ(ValidatorIndex(parsed, "validator-2"), std::optional<uint32_t>(2));
  EXPECT_EQ(ValidatorIndex(parsed, "observer-0"), std::nullopt);
  EXPECT_TRUE(IsObserver(parsed, "observer-0"));
  EXPECT_EQ(CertificateOf(parsed, "observer-0"), "pem");
}

TEST(GenesisTest, InvalidFieldsAreNamed) {
  v1::Genesis genesis = testing::TestGenesis(2);
  genesis.mutable_validators(1)->set_consensus_key("short");
  absl::Status status = ValidateGenesis(genesis, "g.json");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(status.message()), HasSubstr("g.json: validators[1].consensus_key"));
  genesis = testing::TestGenesis(2);
  genesis.mutable_validators(1)->set_name("validator-0");
  EXPECT_THAT(std::string(ValidateGenesis(genesis, "g.json").message()),
              HasSubstr("validators[1].name: duplicate"));
  genesis = testing::TestGenesis(2);
  genesis.clear_chain_id();
  EXPECT_THAT(std::string(ValidateGenesis(genesis, "g.json").message()), HasSubstr("chain_id"));
  EXPECT_THAT(ParseGenesis("{\"chainId\": 5, ", "g.json"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseGenesis("{\"noSuchField\": 1}", "g.json"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace itmo::node
