// Boost.JSON's compiled part, built into the library once (Debian's Boost
// 1.81 ships no libboost_json): every file that parses JSON with it
// includes <boost/json.hpp> alone.
#include <boost/json/src.hpp>
