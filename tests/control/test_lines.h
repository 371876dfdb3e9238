/* tests/control: a rendered text as its lines (shared by the tests of
 * control/). */
#ifndef CV_TEST_LINES_H
#define CV_TEST_LINES_H

#include <sstream>
#include <string>
#include <vector>

inline std::vector<std::string> lines(const std::string &s)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string l; std::getline(ss, l);)
        out.push_back(l);
    return out;
}

#endif /* CV_TEST_LINES_H */
