#include "formats/tar_archive.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace kdnas {
namespace {

namespace fs = std::filesystem;

class TarArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kdnas-tar-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "checkpoint");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void Write(const std::string& name, const std::string& bytes) const {
    std::ofstream(Path(name), std::ios::binary) << bytes;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // A tar written by Python's tarfile (another writer than ours): `members`
  // is Python code adding members to the open TarFile `t`.
  std::string PythonTar(const std::string& name, const std::string& members) const {
    const std::string script = Path(name + ".py");
    std::ofstream(script)
        << "import io, tarfile, sys\n"
        << "t = tarfile.open(sys.argv[1], 'w')\n"
        << "def add(name, data=b'x', kind=tarfile.REGTYPE, link=''):\n"
        << "    i = tarfile.TarInfo(name); i.type = kind; i.linkname = link\n"
        << "    i.size = len(data) if kind == tarfile.REGTYPE else 0\n"
        << "    t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)\n"
        << members << "\nt.close()\n";
    const std::string command = "/usr/bin/python3 " + script + " " + Path(name);
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return Path(name);
  }
  fs::path dir_;
};

TEST_F(TarArchiveTest, PacksADirectoryAndUnpacksTheSameBytes) {
  std::string big(3 << 20, '\0');  // larger than one 1 MiB chunk
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  Write("checkpoint/model.safetensors", big);
  Write("checkpoint/config.json", "{\"model_type\": \"llama\"}");
  Write("checkpoint/empty.txt", "");
  ASSERT_TRUE(WriteTar(Path("checkpoint"), Path("c.tar")).ok());

  std::map<std::string, int64_t> members;
  std::string config;
  ASSERT_TRUE(ForEachTarMember(Path("c.tar"), [&](const TarMember& m, TarMemberReader& reader) {
                members[m.name] = m.size;
                if (m.name == "config.json") {
                  config.resize(m.size);
                  auto got = reader.Read(config.data(), m.size);
                  if (!got.ok()) return got.status();
                }
                return Status::Ok();  // the rest of each member is skipped
              }).ok());
  EXPECT_EQ(members, (std::map<std::string, int64_t>{
                         {"config.json", 23}, {"empty.txt", 0}, {"model.safetensors", 3 << 20}}));
  EXPECT_EQ(config, "{\"model_type\": \"llama\"}");

  ASSERT_TRUE(ExtractTar(Path("c.tar"), Path("out")).ok());
  EXPECT_EQ(Read(Path("out/model.safetensors")), big);
  EXPECT_EQ(Read(Path("out/config.json")), "{\"model_type\": \"llama\"}");
  EXPECT_TRUE(fs::exists(Path("out/empty.txt")));

  // The same directory packs to the same bytes (the blob's digest is stable).
  fs::last_write_time(Path("checkpoint/config.json"), fs::file_time_type::clock::now());
  ASSERT_TRUE(WriteTar(Path("checkpoint"), Path("again.tar")).ok());
  EXPECT_EQ(Read(Path("c.tar")), Read(Path("again.tar")));
}

TEST_F(TarArchiveTest, ReadsATarWrittenByAnotherToolWithDotSlashNames) {
  const std::string tar = PythonTar("dot.tar",
                                    "add('.', kind=tarfile.DIRTYPE)\n"
                                    "add('./config.json', b'{}')\n");
  std::vector<std::string> names;
  ASSERT_TRUE(ForEachTarMember(tar, [&](const TarMember& m, TarMemberReader&) {
                names.push_back(m.name);
                return Status::Ok();
              }).ok());
  EXPECT_EQ(names, std::vector<std::string>{"config.json"});
}

TEST_F(TarArchiveTest, RefusesMembersThatCouldWriteOutsideTheDirectory) {
  struct Case {
    const char* name;
    const char* members;
    const char* expected;
  };
  const Case cases[] = {
      {"up.tar", "add('../evil', b'x')", "not a file at the top level"},
      {"abs.tar", "add('/etc/evil', b'x')", "not a file at the top level"},
      {"sub.tar", "add('sub/config.json', b'x')", "not a file at the top level"},
      {"link.tar", "add('config.json', kind=tarfile.SYMTYPE, link='/etc/passwd')",
       "not a regular file"},
      {"dir.tar", "add('sub', kind=tarfile.DIRTYPE)", "not a regular file"},
      {"twice.tar", "add('config.json', b'a')\nadd('config.json', b'b')", "appears twice"},
  };
  for (const Case& c : cases) {
    const std::string tar = PythonTar(c.name, c.members);
    const Status status = ExtractTar(tar, Path(std::string("out-") + c.name));
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.name << ": " << status.ToString();
    EXPECT_NE(status.message().find(c.expected), std::string::npos) << status.message();
  }
  EXPECT_FALSE(fs::exists(dir_ / "evil"));
}

TEST_F(TarArchiveTest, RefusesAFileThatIsNotATarAndADirectoryWithSubdirectories) {
  Write("notes.txt", std::string(2000, 'z'));
  EXPECT_EQ(ForEachTarMember(Path("notes.txt"),
                             [](const TarMember&, TarMemberReader&) { return Status::Ok(); })
                .code(),
            StatusCode::kDataLoss);
  fs::create_directories(dir_ / "checkpoint" / "nested");
  const Status status = WriteTar(Path("checkpoint"), Path("x.tar"));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("nested"), std::string::npos) << status.message();
}

TEST_F(TarArchiveTest, InMemoryTarsAreTheSameAsTarsOfADirectoryAndReadBack) {
  const std::map<std::string, std::string> files = {
      {"vocab.json", "{\"a\": 0}"}, {"merges.txt", std::string(3000, 'm')}, {"empty", ""}};
  for (const auto& [name, bytes] : files) Write("checkpoint/" + name, bytes);
  ASSERT_TRUE(WriteTar(Path("checkpoint"), Path("dir.tar")).ok());
  auto tar = TarOfFiles(files);
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  // One layout: only the padding of the last 10 KiB record differs.
  const std::string from_dir = Read(Path("dir.tar"));
  ASSERT_LE(tar->size(), from_dir.size());
  EXPECT_EQ(from_dir.substr(0, tar->size()), *tar);
  EXPECT_EQ(tar->size() % 512, 0u);
  auto back = FilesOfTar(*tar, "memory");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, files);
  auto bad_name = TarOfFiles({{"dir/file", "x"}});
  EXPECT_EQ(bad_name.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FilesOfTar("not a tar at all", "memory").status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace kdnas
