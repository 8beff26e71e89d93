// What a runtime in a cluster keeps goes with it: the TLS its reads of
// other nodes' objects use is its cluster link's (cluster.cpp), made from
// its actor system's TLS and reached only while that link is in the
// cluster, so neither a later runtime nor code running after `shutdown`
// reads with the first one's identity. Real head process (this binary is
// the head, see cluster_main.hpp).

#include "tests/cluster_main.hpp"

#include <manta/cluster/cluster.hpp>
#include <manta/cluster/object_fetch.hpp>
#include <manta/manta.hpp>

TEST_CASE("the data path TLS of a runtime's reads goes with its cluster link") {
  using manta::detail::reader_tls;
  CHECK(reader_tls() == nullptr); // no runtime yet
  {
    manta::local_cluster c; // TLS made from the token, the default
    c.join(0);
    CHECK(reader_tls() != nullptr);
    CHECK(manta::detail::cluster::client());
    manta::shutdown();
    CHECK(reader_tls() == nullptr);
    CHECK_FALSE(manta::detail::cluster::client());
  }
  manta::init_options opts; // a node of its own: plain reads, if any
  opts.num_cpus = 1;
  manta::init(opts);
  CHECK(reader_tls() == nullptr);
  manta::shutdown();
}

int main(int argc, char** argv) {
  return manta_test::cluster_test_main(argc, argv);
}
