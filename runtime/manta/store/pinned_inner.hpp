#pragma once

#include <cstdint>
#include <vector>

namespace manta::detail {

/// The refs (and actor handles) lent while this node encoded object
/// `outer`'s value for another node outside any other container (bytes
/// inlined in a ref to it, or served by the data path for a read): held
/// by `outer`'s own pin, the borrower of `outer` decodes them while it
/// holds `outer`, so they go when no borrower and no container holds
/// `outer` any more (borrowers.cpp), or at once if it has no pin.
void hold_with_pin(uint64_t outer, std::vector<uint64_t> inner);

} // namespace manta::detail
