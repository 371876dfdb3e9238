// cv_crc: ISA-L-backed checksums match the standard parameterisations and chain.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cv_crc.h"

TEST(Crc32c, MatchesStandardCheckValue)
{
    EXPECT_EQ(cv_crc32c("123456789", 9), 0xE3069283u);
}

TEST(Crc32c, EmptyInputIsZero)
{
    EXPECT_EQ(cv_crc32c("", 0), 0u);
}

TEST(Crc32c, MatchesRfc3720Vectors)
{
    // RFC 3720 B.4: 32 bytes of zeros, 32 bytes of 0xff, 0..31 ascending.
    std::vector<unsigned char> b(32, 0);
    EXPECT_EQ(cv_crc32c(b.data(), b.size()), 0x8A9136AAu);
    std::fill(b.begin(), b.end(), 0xff);
    EXPECT_EQ(cv_crc32c(b.data(), b.size()), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    EXPECT_EQ(cv_crc32c(b.data(), b.size()), 0x46DD794Eu);
}

TEST(Crc32c, ChainsAcrossSplits)
{
    const char *s = "the quick brown fox jumps over the lazy dog";
    size_t n = strlen(s);
    uint32_t whole = cv_crc32c(s, n);
    for (size_t cut = 0; cut <= n; cut++)
        EXPECT_EQ(cv_crc32c_update(cv_crc32c(s, cut), s + cut, n - cut), whole) << cut;
}

TEST(Crc32c, DetectsEverySingleBitFlip)
{
    std::vector<unsigned char> b(512);
    for (size_t i = 0; i < b.size(); i++)
        b[i] = (unsigned char)(i * 7 + 3);
    uint32_t good = cv_crc32c(b.data(), b.size());
    for (size_t bit = 0; bit < b.size() * 8; bit++) {
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        ASSERT_NE(cv_crc32c(b.data(), b.size()), good) << bit;
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
}

TEST(Crc64, MatchesCrc64XzCheckValue)
{
    EXPECT_EQ(cv_crc64("123456789", 9), 0x995DC9BBDF1939FAull);
}

TEST(Crc64, ChainsAcrossSplits)
{
    const char *s = "snapshot bytes, in pieces";
    size_t n = strlen(s);
    uint64_t whole = cv_crc64(s, n);
    for (size_t cut = 0; cut <= n; cut++)
        EXPECT_EQ(cv_crc64_update(cv_crc64(s, cut), s + cut, n - cut), whole) << cut;
}
