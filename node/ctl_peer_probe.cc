#include "node/ctl_peer_probe.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "grpcpp/grpcpp.h"
#include "itmo/v1/peer_service.grpc.pb.h"
#include "node/ctl_localnet.h"
#include "node/ctl_util.h"

namespace itmo::node::ctl {

absl::StatusOr<PeerProbeResult> ProbePeer(const PeerProbeOptions& options) {
  ITMO_ASSIGN_OR_RETURN(v1::Genesis genesis, ReadGenesisJson(options.genesis_path));
  grpc::SslCredentialsOptions ssl;
  for (const v1::Validator& v : genesis.validators()) ssl.pem_root_certs += v.tls_certificate_pem();
  for (const v1::Observer& o : genesis.observers()) ssl.pem_root_certs += o.tls_certificate_pem();
  ITMO_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadWholeFile(options.cert_path, 64 << 10));
  ITMO_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadWholeFile(options.key_path, 64 << 10));
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(options.target_name);
  auto channel = grpc::CreateCustomChannel(options.address, grpc::SslCredentials(ssl), args);
  std::unique_ptr<v1::Peer::Stub> stub = v1::Peer::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(absl::ToInt64Milliseconds(options.wait)));
  auto stream = stub->Stream(&context);
  v1::PeerMessage message;
  PeerProbeResult result;
  if (stream->Read(&message)) {
    result.accepted = true;
    result.detail = "the node sent a peer message";
    context.TryCancel();
    stream->Finish().ok();
    return result;
  }
  grpc::Status status = stream->Finish();
  result.accepted = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  result.detail = absl::StrCat("stream ended with ", static_cast<int>(status.error_code()), " ",
                               status.error_message());
  return result;
}

}  // namespace itmo::node::ctl
