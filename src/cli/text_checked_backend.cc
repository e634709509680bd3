// SPDX-License-Identifier: Apache-2.0
//
// Every parameter the CLI puts into an API request passes through here.
#include "text_checked_backend.h"

#include "shype/api/text.h"

namespace shype::cli {
namespace {

class TextCheckedBackend final : public Backend {
 public:
  explicit TextCheckedBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  Result<api::Json> Call(const api::Command& command) override {
    // SECURITY: shyped refuses such bytes too; refusing here keeps the offline backend (which
    // writes the store directly) from storing names no reply can carry.
    api::EncodedCommand encoded = api::EncodeCommand(command);
    if (auto r = api::CheckJsonText(encoded.params); !r) {
      return Fail(r.error().WithContext(encoded.endpoint.op));
    }
    return inner_->Call(command);
  }
  bool live() const override { return inner_->live(); }

 private:
  std::unique_ptr<Backend> inner_;
};

}  // namespace

std::unique_ptr<Backend> WithTextChecks(std::unique_ptr<Backend> inner) {
  return std::make_unique<TextCheckedBackend>(std::move(inner));
}

}  // namespace shype::cli
