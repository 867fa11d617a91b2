// File: node/bin/itmo_node_main.cc
// itmo-node: runs one validator or observer from a config.toml.
//   itmo-node --config /path/to/config.toml
// Exit codes: 0 after SIGTERM/SIGINT, 2 for a bad command line, config or genesis, 3 when this
// node's state root differs from a committed one (it stops instead of serving a diverged state), 1
// otherwise.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "node/config.h"
#include "node/executor.h"
#include "node/node.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace {

constexpr int kExitUsage = 2;

void Usage() { std::fprintf(stderr, "usage: itmo-node --config <config.toml>\n"); }

// %j: the log message escaped as the body of a JSON string (quotes, backslashes, control chars).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char escaped[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xF]};
        dest.append(escaped, escaped + sizeof(escaped));
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

void SetUpLogging(const itmo::node::NodeConfig& config) {
  auto logger = spdlog::stderr_color_mt("itmo-node");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (config.log_json) {
    // One JSON object per line. Messages never contain secrets (keys are never logged).
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        "{\"time\":\"%Y-%m-%dT%H:%M:%S.%eZ\",\"level\":\"%l\",\"node\":\"" + config.name +
        "\",\"thread\":%t,\"msg\":\"%j\"}");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [" + config.name + "] %v",
                        spdlog::pattern_time_type::utc);
  }
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      config_path = arg.substr(std::strlen("--config="));
    } else if (arg == "--help" || arg == "-h") {
      Usage();
      return 0;
    } else {
      std::fprintf(stderr, "itmo-node: unknown argument %s\n", arg.c_str());
      Usage();
      return kExitUsage;
    }
  }
  if (config_path.empty()) {
    Usage();
    return kExitUsage;
  }
  absl::StatusOr<itmo::node::NodeConfig> config = itmo::node::LoadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "itmo-node: %s\n", config.status().ToString().c_str());
    return kExitUsage;
  }
  SetUpLogging(*config);

  // Block SIGTERM/SIGINT in every thread; one thread waits for them and shuts the node down.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<itmo::node::Node>> node = itmo::node::Node::Start(*config);
  if (!node.ok()) {
    spdlog::critical("cannot start: {}", node.status().ToString());
    const absl::StatusCode code = node.status().code();
    return code == absl::StatusCode::kInvalidArgument || code == absl::StatusCode::kNotFound ||
                   code == absl::StatusCode::kPermissionDenied
               ? kExitUsage
               : 1;
  }
  itmo::node::Node* raw = node->get();
  std::thread signal_thread([raw, signals]() {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    if (signal_number != 0) {
      spdlog::info("signal {}: shutting down", signal_number);
      raw->Shutdown();
    }
  });
  const int exit_code = raw->Wait();
  // Wake the signal thread if it is still waiting (the node stopped on its own).
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  node->reset();
  if (exit_code == itmo::node::kExitStateDivergence) {
    spdlog::critical("exiting with code {}: state divergence (see above)", exit_code);
  }
  spdlog::shutdown();
  return exit_code;
}
