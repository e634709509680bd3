// SPDX-License-Identifier: Apache-2.0
//
// Device entry tests: xm and xl disk forms, vif/vtpm/shm entries, and config-level errors that
// carry the line of the offending element.
#include "shype/config/device_spec.h"

#include <gtest/gtest.h>

#include <string>

#include "shype/config/domain_config.h"

namespace shype::config {
namespace {

TEST(DiskSpecTest, ParsesXmPositionalForms) {
  auto file = ParseDiskSpec("file:/img/a.img,xvda,w");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->resource, "file:/img/a.img");
  EXPECT_EQ(file->vdev, "xvda");
  EXPECT_EQ(file->mode, DiskMode::kWrite);
  EXPECT_FALSE(file->format);
  auto phy = ParseDiskSpec("phy:/dev/sdb,xvdb,r");
  ASSERT_TRUE(phy);
  EXPECT_EQ(phy->resource, "phy:/dev/sdb");
  EXPECT_EQ(phy->mode, DiskMode::kRead);
  auto tap = ParseDiskSpec("tap:aio:/img/b.img,xvdc,w");
  ASSERT_TRUE(tap);
  EXPECT_EQ(tap->resource, "tap:aio:/img/b.img");
  EXPECT_EQ(tap->format, DiskFormat::kRaw);
  auto qcow = ParseDiskSpec("tap:qcow2:/img/q.qcow2,hdc:cdrom,r");
  ASSERT_TRUE(qcow);
  EXPECT_EQ(qcow->format, DiskFormat::kQcow2);
  EXPECT_EQ(qcow->vdev, "hdc");
  EXPECT_TRUE(qcow->cdrom);
}

TEST(DiskSpecTest, ParsesXlKeyValueAndFourFieldForms) {
  auto keys = ParseDiskSpec("target=/img/a.img,vdev=xvda,access=rw");
  ASSERT_TRUE(keys) << keys.error().message;
  EXPECT_EQ(keys->resource, "file:/img/a.img");
  EXPECT_EQ(keys->mode, DiskMode::kWrite);
  auto qcow = ParseDiskSpec(" format=qcow2, vdev=xvdb, access=ro, target=/img/b.qcow2");
  ASSERT_TRUE(qcow) << qcow.error().message;
  EXPECT_EQ(qcow->format, DiskFormat::kQcow2);
  EXPECT_EQ(qcow->mode, DiskMode::kRead);
  auto four = ParseDiskSpec("/dev/vg/guest,raw,xvda,rw");
  ASSERT_TRUE(four) << four.error().message;
  EXPECT_EQ(four->resource, "phy:/dev/vg/guest");
  EXPECT_EQ(four->format, DiskFormat::kRaw);
  auto prefixed = ParseDiskSpec("qcow2:/img/c.qcow2,xvdc,w");
  ASSERT_TRUE(prefixed) << prefixed.error().message;
  EXPECT_EQ(prefixed->resource, "file:/img/c.qcow2");
  EXPECT_EQ(prefixed->format, DiskFormat::kQcow2);
}

TEST(DiskSpecTest, RejectsMalformedEntriesWithTheEntryInTheMessage) {
  EXPECT_EQ(ParseDiskSpec("file:/img/a.img,xvda,x").error().message,
            "disk entry 'file:/img/a.img,xvda,x': access mode 'x' must be r, ro, w, rw or w!");
  EXPECT_EQ(ParseDiskSpec("file:/a,xvda").error().message,
            "disk entry 'file:/a,xvda': expected 'type:path,vdev,mode' (3 fields), "
            "'target,format,vdev,access' (4) or key=value pairs");
  EXPECT_EQ(ParseDiskSpec("target=/a,format=vhd,vdev=xvda").error().message,
            "disk entry 'target=/a,format=vhd,vdev=xvda': format 'vhd' must be raw or qcow2");
  EXPECT_EQ(ParseDiskSpec("file:img.img,xvda,w").error().message,
            "disk entry 'file:img.img,xvda,w': Invalid resource 'file:img.img': 'img.img' is not "
            "an absolute path; write file:/full/path/to/image");
  EXPECT_EQ(ParseDiskSpec("vlan:3,xvda,w").error().message,
            "disk entry 'vlan:3,xvda,w': a disk must be a file:, phy: or tap:<subtype>: resource");
  EXPECT_EQ(ParseDiskSpec("file:/a,XVDA!,w").error().message,
            "disk entry 'file:/a,XVDA!,w': virtual device 'XVDA!' must be [a-z0-9]+, e.g. xvda");
  EXPECT_FALSE(ParseDiskSpec("target=/a,access=w"));             // no vdev
  EXPECT_FALSE(ParseDiskSpec("target=/a,vdev=xvda,vdev=xvdb"));  // duplicate key
  EXPECT_FALSE(ParseDiskSpec(",hdc:cdrom,r"));                   // empty target
}

TEST(VifSpecTest, NamesTheVnetResource) {
  auto vif = ParseVifSpec("mac=00:16:3e:0a:0b:0c,vnet=red,model=virtio");
  ASSERT_TRUE(vif) << vif.error().message;
  EXPECT_EQ(vif->vnet, "red");
  EXPECT_EQ(vif->resource(), "vnet:red");
  EXPECT_EQ(vif->mac, "00:16:3e:0a:0b:0c");
  EXPECT_EQ(vif->options.at("model"), "virtio");
  auto bridge = ParseVifSpec("bridge=xenbr0");
  ASSERT_TRUE(bridge);
  EXPECT_EQ(bridge->resource(), "vnet:xenbr0");
  EXPECT_EQ(ParseVifSpec("vnet=a,bridge=b").error().message,
            "vif entry 'vnet=a,bridge=b': vnet 'a' and bridge 'b' disagree; give only vnet=NAME");
  EXPECT_EQ(ParseVifSpec("mac=00:16:3e:00:00:01").error().message,
            "vif entry 'mac=00:16:3e:00:00:01': name the virtual network with vnet=NAME "
            "([A-Za-z0-9_.-]{1,64})");
  EXPECT_EQ(ParseVifSpec("vnet=a,mac=00:16:3e:00:00").error().message,
            "vif entry 'vnet=a,mac=00:16:3e:00:00': mac '00:16:3e:00:00' must be six hex pairs "
            "like 00:16:3e:01:02:03");
  EXPECT_FALSE(ParseVifSpec("vnet=a b"));
  EXPECT_FALSE(ParseVifSpec("vnet=a,junk"));
}

TEST(ShmSpecTest, ParsesNameAndPowerOfTwoSize) {
  auto shm = ParseShmSpec("name=chan0,size=64K,role=peer");
  ASSERT_TRUE(shm) << shm.error().message;
  EXPECT_EQ(shm->resource(), "shm:chan0");
  EXPECT_EQ(shm->size_bytes, 64U * 1024U);
  EXPECT_EQ(shm->options.at("role"), "peer");
  EXPECT_EQ(ParseShmSpec("name=x")->size_bytes, 1U << 20);
  EXPECT_EQ(ParseShmSpec("name=x,size=2G")->size_bytes, 2ULL << 30);
  EXPECT_EQ(ParseShmSpec("name=x,size=3M").error().message,
            "shm entry 'name=x,size=3M': size '3M' must be a power of two from 4K to 16G, e.g. 1M");
  EXPECT_FALSE(ParseShmSpec("name=x,size=1K"));
  EXPECT_FALSE(ParseShmSpec("name=x,size=32G"));
  EXPECT_FALSE(ParseShmSpec("name=x,size=99999999999999999G"));
  EXPECT_FALSE(ParseShmSpec("name=x,size=1T"));
  EXPECT_FALSE(ParseShmSpec("size=1M"));
  EXPECT_FALSE(ParseShmSpec("name=a/b"));
}

TEST(VtpmSpecTest, KeepsKeyValueOptions) {
  auto vtpm = ParseVtpmSpec("backend=0,instance=1");
  ASSERT_TRUE(vtpm);
  EXPECT_EQ(vtpm->options.at("instance"), "1");
  EXPECT_TRUE(ParseVtpmSpec("")->options.empty());
  EXPECT_FALSE(ParseVtpmSpec("backend"));
}

TEST(DeviceListTest, ConfigErrorsCarryTheElementLine) {
  auto config = DomainConfig::Parse(
      "disk = [ 'file:/a,xvda,w',\n"
      "         'file:/b,xvdb,z' ]\n"
      "vif = [ 'vnet=red' ]\nshm = [ 'name=s1,size=4K' ]\nvtpm = [ 'backend=0' ]\n",
      "d.cfg");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->Disks().error().message,
            "d.cfg:2: disk entry 'file:/b,xvdb,z': access mode 'z' must be r, ro, w, rw or w!");
  EXPECT_EQ((*config->Vifs())[0].resource(), "vnet:red");
  EXPECT_EQ((*config->Shms())[0].size_bytes, 4096U);
  EXPECT_EQ(config->Vtpms()->size(), 1U);
}

}  // namespace
}  // namespace shype::config
