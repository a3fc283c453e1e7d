// A real PostgreSQL server for tests: Debian's postgresql binaries, a fresh
// cluster in a temporary directory, run as the `postgres` user when the test
// runs as root (PostgreSQL refuses to run as root), listening on 127.0.0.1
// on a free port. Stopped and deleted on destruction.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <pqxx/pqxx>
#include <string>

namespace kdnas::testing {

class PostgresServer {
 public:
  PostgresServer() {
    for (const auto& version : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
      if (std::filesystem::exists(version.path() / "bin/initdb")) bin_ = version.path() / "bin";
    }
    if (bin_.empty()) {
      ADD_FAILURE() << "PostgreSQL is not installed (apt-get install postgresql)";
      return;
    }
    char tmpl[] = "/tmp/kdnas-pg-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = FreePort();
    as_ = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    if (::geteuid() == 0) Run("chown postgres " + dir_);
    Run(as_ + (bin_ / "initdb").string() + " -D " + dir_ + "/data -A trust -U kdnas -E UTF8 >" +
        dir_ + "/initdb.log 2>&1");
    Start();
  }
  ~PostgresServer() {
    if (bin_.empty()) return;
    Stop("fast");
    std::filesystem::remove_all(dir_);
  }

  // The free port can be taken before the server binds it (tests run side by
  // side): a failed start tries another port; the last failure shows the log.
  void Start() {
    for (int attempt = 1;; ++attempt) {
      const std::string command = as_ + (bin_ / "pg_ctl").string() + " -D " + dir_ + "/data -l " +
                                  dir_ + "/server.log -w -o \"-k " + dir_ +
                                  " -c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                                  "\" start >/dev/null";
      if (std::system(command.c_str()) == 0) return;
      if (attempt == 5) {
        std::ifstream log(dir_ + "/server.log");
        FAIL() << command << "\n" << std::string(std::istreambuf_iterator<char>(log), {});
      }
      port_ = FreePort();
    }
  }
  // mode: smart, fast or immediate (a crash: no shutdown checkpoint).
  void Stop(const std::string& mode) {
    std::system((as_ + (bin_ / "pg_ctl").string() + " -D " + dir_ + "/data -m " + mode +
                 " -w stop >/dev/null 2>&1")
                    .c_str());
  }

  // A new, empty database; returns its connection URI.
  std::string NewDatabase() {
    const std::string name = "kdnas_" + std::to_string(++databases_);
    pqxx::connection c(Uri("postgres"));
    pqxx::nontransaction txn(c);
    txn.exec("CREATE DATABASE " + name);
    return Uri(name);
  }
  std::string Uri(const std::string& database) const {
    return "postgresql://kdnas@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

 private:
  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }
  static void Run(const std::string& command) {
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  std::filesystem::path bin_;
  std::string dir_;
  std::string as_;
  int port_ = 0;
  int databases_ = 0;
};

}  // namespace kdnas::testing
