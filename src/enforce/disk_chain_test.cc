// SPDX-License-Identifier: Apache-2.0
//
// Disk chains: real qcow2 images made by qemu-img, and hand-made headers for the attacks (a
// backing file named by a guest-controlled header, protocols, loops, external data files).
#include "shype/enforce/disk_chain.h"

#include <fcntl.h>

#include "test_dir.h"

namespace shype::enforce {
namespace {

using Kind = ObjectIdentity::Kind;

void PutBe(std::string& bytes, std::size_t at, std::uint64_t value, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    bytes[at + i] = static_cast<char>((value >> (8 * (n - 1 - i))) & 0xff);
  }
}

// A qcow2 v2 header naming `backing` (if not empty) with optional backing-format extension.
std::string Qcow2Header(const std::string& backing, const std::string& format) {
  std::string h(4096, '\0');
  PutBe(h, 0, 0x514649fb, 4);
  PutBe(h, 4, 2, 4);
  std::size_t at = 72;
  if (!format.empty()) {
    PutBe(h, at, 0xe2792aca, 4);
    PutBe(h, at + 4, format.size(), 4);
    h.replace(at + 8, format.size(), format);
    at += 8 + ((format.size() + 7) & ~std::size_t{7});
  }
  at += 8;  // end-of-extensions marker (zeros)
  if (!backing.empty()) {
    PutBe(h, 8, at, 8);
    PutBe(h, 16, backing.size(), 4);
    h.replace(at, backing.size(), backing);
  }
  return h;
}

class DiskChainTest : public TempDirTest {
 protected:
  Result<std::vector<ChainLayer>> Open(const std::string& path, ImageFormat format) {
    return OpenDiskChain(path, format, Kind::kFile, true);
  }
};

TEST_F(DiskChainTest, RawIsOneLayerWhateverItsBytesSay) {
  // A guest that writes a qcow2 header into its own raw disk gains nothing.
  const std::string raw = Write("raw.img", Qcow2Header("/etc/shadow", "raw"));
  auto chain = Open(raw, ImageFormat::kRaw);
  ASSERT_TRUE(chain) << chain.error().message;
  ASSERT_EQ(chain->size(), 1U);
  EXPECT_TRUE((*chain)[0].object.writable);
}

TEST_F(DiskChainTest, Qcow2ChainFromQemuImgIsOpenedLayerByLayer) {
  ASSERT_TRUE(Sh("cd " + dir_.string() +
                 " && qemu-img create -q -f raw base.raw 1M && qemu-img create -q -f qcow2 -b "
                 "base.raw -F raw mid.qcow2 && qemu-img create -q -f qcow2 -b " +
                 (dir_ / "mid.qcow2").string() + " -F qcow2 top.qcow2"));
  auto chain = Open((dir_ / "top.qcow2").string(), ImageFormat::kQcow2);
  ASSERT_TRUE(chain) << chain.error().message;
  ASSERT_EQ(chain->size(), 3U);
  EXPECT_EQ((*chain)[1].object.path, (dir_ / "mid.qcow2").string());
  EXPECT_EQ((*chain)[1].format, ImageFormat::kQcow2);
  EXPECT_EQ((*chain)[2].object.path, (dir_ / "base.raw").string());  // relative name
  EXPECT_EQ((*chain)[2].format, ImageFormat::kRaw);
  EXPECT_FALSE((*chain)[1].object.writable);
  EXPECT_EQ(::fcntl((*chain)[2].object.fd.get(), F_GETFL) & O_ACCMODE, O_RDONLY);
}

TEST_F(DiskChainTest, ABackingFileNamedByTheHeaderIsOpenedForTheCallerToCheck) {
  // The overlay names a host file: the chain shows it, so the label check sees it.
  const std::string top = Write("bank.qcow2", Qcow2Header("/etc/hostname", "raw"));
  auto chain = Open(top, ImageFormat::kQcow2);
  ASSERT_TRUE(chain) << chain.error().message;
  ASSERT_EQ(chain->size(), 2U);
  EXPECT_EQ((*chain)[1].object.path, "/etc/hostname");
}

TEST_F(DiskChainTest, RefusesWhatWouldMakeQemuOpenFilesItself) {
  struct Case {
    std::string backing, format, why;
  } cases[] = {
      {"json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}", "raw", "protocol"},
      {"nbd:127.0.0.1:10809", "raw", "protocol"},
      {"/etc/hostname", "", "without its format"},
      {"/etc/hostname", "vmdk", "only raw and qcow2"},
      {"/proc/self/environ", "raw", "pseudo"},
      {"/nonexistent/base.raw", "raw", "backing file"},
  };
  for (const Case& c : cases) {
    const std::string top = Write("evil.qcow2", Qcow2Header(c.backing, c.format));
    auto chain = Open(top, ImageFormat::kQcow2);
    ASSERT_FALSE(chain) << c.backing;
    EXPECT_NE(chain.error().message.find(c.why), std::string::npos) << chain.error().message;
  }
}

TEST_F(DiskChainTest, RefusesLoopsDepthAndExternalDataFiles) {
  Write("a.qcow2", Qcow2Header((dir_ / "b.qcow2").string(), "qcow2"));
  Write("b.qcow2", Qcow2Header((dir_ / "a.qcow2").string(), "qcow2"));
  auto loop = Open((dir_ / "a.qcow2").string(), ImageFormat::kQcow2);
  ASSERT_FALSE(loop);
  EXPECT_NE(loop.error().message.find("loop"), std::string::npos) << loop.error().message;

  for (std::size_t i = 0; i < kMaxChainDepth + 1; ++i) {
    Write("d" + std::to_string(i),
          Qcow2Header((dir_ / ("d" + std::to_string(i + 1))).string(), "qcow2"));
  }
  Write("d" + std::to_string(kMaxChainDepth + 1), Qcow2Header("", ""));
  auto deep = Open((dir_ / "d0").string(), ImageFormat::kQcow2);
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("backing layers"), std::string::npos);

  ASSERT_TRUE(Sh("cd " + dir_.string() + " && qemu-img create -q -f qcow2 -o data_file=" +
                 (dir_ / "data.raw").string() + " ext.qcow2 1M"));
  auto external = Open((dir_ / "ext.qcow2").string(), ImageFormat::kQcow2);
  ASSERT_FALSE(external);
  EXPECT_NE(external.error().message.find("external data file"), std::string::npos)
      << external.error().message;
}

TEST_F(DiskChainTest, HeaderParserRejectsMalformedHeaders) {
  EXPECT_FALSE(ParseQcow2Header({}));
  std::string h = Qcow2Header("x", "raw");
  PutBe(h, 16, 5000, 4);  // name longer than the header
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(h.data()), h.size());
  EXPECT_FALSE(ParseQcow2Header(bytes));
  // Found by fuzz/qcow2_header: an offset near 2^64 wrapped the bounds check.
  std::string wrap = Qcow2Header("x", "raw");
  PutBe(wrap, 8, 0xffffffffffffffffULL, 8);
  PutBe(wrap, 16, 10, 4);
  EXPECT_FALSE(
      ParseQcow2Header(std::span(reinterpret_cast<const std::uint8_t*>(wrap.data()), wrap.size())));
  std::string enc = Qcow2Header("", "");
  PutBe(enc, 32, 1, 4);
  EXPECT_FALSE(
      ParseQcow2Header(std::span(reinterpret_cast<const std::uint8_t*>(enc.data()), enc.size())));
}

}  // namespace
}  // namespace shype::enforce
