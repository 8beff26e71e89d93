#pragma once

// A CA and node certificates made with the openssl CLI in a temporary
// folder (self-signed CA, EC P-256 keys, valid for a day), removed with the
// object; for tests and benchmarks of TLS (see "TLS" in docs/cluster.md).

#include <manta/init.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <stdlib.h>

namespace manta_test {

class test_pki {
public:
  test_pki() {
    char tmpl[] = "/tmp/manta-pki-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("cannot create a folder under /tmp");
    dir_ = tmpl;
    // A config of our own: the result does not depend on the system's.
    std::ofstream cnf{dir_ + "/openssl.cnf"};
    cnf << "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = manta\n"
           "[ca]\nbasicConstraints = critical,CA:TRUE\n"
           "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
           "[node]\nbasicConstraints = CA:FALSE\n"
           "keyUsage = critical,digitalSignature,keyEncipherment\n"
           "extendedKeyUsage = serverAuth,clientAuth\n";
  }

  ~test_pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  static bool have_openssl() { return std::system("command -v openssl >/dev/null 2>&1") == 0; }

  /// A self-signed CA: <dir>/<name>.pem and .key.
  void make_ca(const std::string& name) {
    run("openssl req -x509 -config " + cnf() + " -extensions ca " + new_key(name)
        + " -subj /CN=" + name + " -days 1 -out " + path(name + ".pem"));
  }

  /// A key and a certificate signed by the CA `ca`, for a node.
  manta::tls_options make_node(const std::string& name, const std::string& ca) {
    run("openssl req -new -config " + cnf() + " " + new_key(name) + " -subj /CN=" + name + " -out "
        + path(name + ".csr"));
    run("openssl x509 -req -in " + path(name + ".csr") + " -CA " + path(ca + ".pem") + " -CAkey "
        + path(ca + ".key") + " -CAcreateserial -days 1 -extfile " + cnf()
        + " -extensions node -out " + path(name + ".pem"));
    return {path(name + ".pem"), path(name + ".key"), path(ca + ".pem")};
  }

private:
  std::string path(const std::string& file) const { return dir_ + "/" + file; }

  std::string cnf() const { return path("openssl.cnf"); }

  std::string new_key(const std::string& name) const {
    return "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + path(name + ".key");
  }

  void run(const std::string& cmd) {
    auto log = path("openssl.log");
    if (std::system((cmd + " >" + log + " 2>&1").c_str()) != 0) {
      std::ifstream in{log};
      throw std::runtime_error("openssl failed: " + cmd + "\n"
                               + std::string{std::istreambuf_iterator<char>{in}, {}});
    }
  }

  std::string dir_;
};

} // namespace manta_test
