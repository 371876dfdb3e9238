// cv_jute: primitive encodings, null handling, and the bounds discipline that
// keeps a hostile length or count from reading outside the input.
#include <gtest/gtest.h>

#include <vector>

#include "cv_proto.h"

namespace
{

std::vector<uint8_t> bytes(std::initializer_list<int> l)
{
    std::vector<uint8_t> v;
    for (int b : l)
        v.push_back((uint8_t)b);
    return v;
}

struct In {
    std::vector<uint8_t> buf;
    cv_jute_in in;
    explicit In(std::vector<uint8_t> b) : buf(std::move(b))
    {
        cv_jute_in_init(&in, buf.data(), buf.size());
    }
};

} // namespace

TEST(JutePrimitives, IntsAndLongsAreBigEndian)
{
    In i(bytes({0x12, 0x34, 0x56, 0x78, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1, 0, 0, 0, 2}));
    EXPECT_EQ(cv_jute_get_int(&i.in), 0x12345678);
    EXPECT_EQ(cv_jute_get_int(&i.in), -2);
    EXPECT_EQ(cv_jute_get_long(&i.in), 0x100000002LL);
    EXPECT_EQ(i.in.err, 0);
    EXPECT_EQ(cv_jute_in_left(&i.in), 0u);

    uint8_t out[12];
    cv_jute_out o;
    cv_jute_out_init(&o, out, sizeof out);
    cv_jute_put_int(&o, -2);
    cv_jute_put_long(&o, 0x0102030405060708LL);
    ASSERT_EQ(o.err, 0);
    EXPECT_EQ(std::vector<uint8_t>(out, out + 12),
              bytes({0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(JutePrimitives, BooleanDecodesNonZeroAsTrueAndEncodesCanonically)
{
    In i(bytes({0, 1, 7}));
    EXPECT_EQ(cv_jute_get_bool(&i.in), 0);
    EXPECT_EQ(cv_jute_get_bool(&i.in), 1);
    EXPECT_EQ(cv_jute_get_bool(&i.in), 1);
    uint8_t out[2];
    cv_jute_out o;
    cv_jute_out_init(&o, out, 2);
    cv_jute_put_bool(&o, 7);
    cv_jute_put_bool(&o, 0);
    EXPECT_EQ(out[0], 1);
    EXPECT_EQ(out[1], 0);
}

TEST(JutePrimitives, BufferPointsIntoInputWithoutCopying)
{
    In i(bytes({0, 0, 0, 3, 'a', 'b', 'c'}));
    cv_jbuf b = cv_jute_get_buf(&i.in);
    ASSERT_EQ(i.in.err, 0);
    EXPECT_EQ(b.len, 3);
    EXPECT_EQ(b.ptr, i.buf.data() + 4);
}

TEST(JutePrimitives, MinusOneLengthIsNullAndRoundTrips)
{
    In i(bytes({0xff, 0xff, 0xff, 0xff}));
    cv_jbuf b = cv_jute_get_buf(&i.in);
    EXPECT_EQ(i.in.err, 0);
    EXPECT_LT(b.len, 0);
    EXPECT_EQ(b.ptr, nullptr);
    uint8_t out[4];
    cv_jute_out o;
    cv_jute_out_init(&o, out, 4);
    cv_jute_put_buf(&o, b);
    EXPECT_EQ(std::vector<uint8_t>(out, out + 4), bytes({0xff, 0xff, 0xff, 0xff}));
}

TEST(JuteBounds, NegativeLengthOtherThanMinusOneIsMalformed)
{
    In i(bytes({0xff, 0xff, 0xff, 0xfe, 'x', 'x'}));
    cv_jute_get_buf(&i.in);
    EXPECT_EQ(i.in.err, -EBADMSG);
}

TEST(JuteBounds, LengthPastTheEndIsMalformed)
{
    In i(bytes({0, 0, 0, 5, 'a', 'b'}));
    cv_jbuf b = cv_jute_get_buf(&i.in);
    EXPECT_EQ(i.in.err, -EBADMSG);
    EXPECT_EQ(b.ptr, nullptr);
}

TEST(JuteBounds, HugeLengthIsMalformedNotAnOverflow)
{
    In i(bytes({0x7f, 0xff, 0xff, 0xff, 'a'}));
    cv_jute_get_buf(&i.in);
    EXPECT_EQ(i.in.err, -EBADMSG);
}

TEST(JuteBounds, TruncatedIntAndLongAreMalformed)
{
    In a(bytes({0, 0, 1}));
    cv_jute_get_int(&a.in);
    EXPECT_EQ(a.in.err, -EBADMSG);
    In b(bytes({0, 0, 0, 0, 0, 0, 1}));
    cv_jute_get_long(&b.in);
    EXPECT_EQ(b.in.err, -EBADMSG);
}

TEST(JuteBounds, ErrorIsStickySoLaterReadsReturnNothing)
{
    In i(bytes({0, 0}));
    cv_jute_get_int(&i.in);
    ASSERT_EQ(i.in.err, -EBADMSG);
    // Even though 2 bytes remain, nothing more is read after a failure.
    EXPECT_EQ(cv_jute_get_bool(&i.in), 0);
    EXPECT_EQ(cv_jute_in_left(&i.in), 2u);
}

TEST(JuteBounds, VectorCountLargerThanTheBytesCouldHoldIsRejectedUpFront)
{
    // 1000 strings need at least 4000 bytes; 8 remain.
    In i(bytes({0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0}));
    cv_jvec v;
    EXPECT_EQ(cv_jute_get_vec(&i.in, nullptr, &v), -EBADMSG);
    // INT32_MAX ACLs.
    In j(bytes({0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}));
    EXPECT_EQ(cv_jute_get_vec(&j.in, &cv_rec_acl, &v), -EBADMSG);
}

TEST(JuteBounds, VectorCountBelowMinusOneIsMalformed)
{
    In i(bytes({0xff, 0xff, 0xff, 0xfe}));
    cv_jvec v;
    EXPECT_EQ(cv_jute_get_vec(&i.in, nullptr, &v), -EBADMSG);
}

TEST(JuteVector, NullEmptyAndElementsRoundTrip)
{
    In n(bytes({0xff, 0xff, 0xff, 0xff}));
    cv_jvec v;
    ASSERT_EQ(cv_jute_get_vec(&n.in, nullptr, &v), 0);
    EXPECT_EQ(v.count, -1);

    In e(bytes({0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 2, 'b', 'c'}));
    ASSERT_EQ(cv_jute_get_vec(&e.in, nullptr, &v), 0);
    ASSERT_EQ(v.count, 2);
    EXPECT_EQ(v.raw_len, 11u);
    cv_jvec_iter it;
    cv_jvec_iter_init(&it, &v, nullptr);
    cv_jbuf s;
    ASSERT_TRUE(cv_jvec_next(&it, &s));
    EXPECT_EQ(std::string((const char *)s.ptr, s.len), "a");
    ASSERT_TRUE(cv_jvec_next(&it, &s));
    EXPECT_EQ(std::string((const char *)s.ptr, s.len), "bc");
    EXPECT_FALSE(cv_jvec_next(&it, &s));

    // Encode the same vector from items and from raw bytes: identical.
    cv_jbuf items[2] = {cv_jstr("a"), cv_jstr("bc")};
    cv_jvec from_items = {2, 0, nullptr, items};
    uint8_t a[32], b[32];
    cv_jute_out oa, ob;
    cv_jute_out_init(&oa, a, sizeof a);
    cv_jute_out_init(&ob, b, sizeof b);
    cv_jute_put_vec(&oa, nullptr, &from_items);
    cv_jute_put_vec(&ob, nullptr, &v);
    ASSERT_EQ(oa.err, 0);
    ASSERT_EQ(ob.err, 0);
    EXPECT_EQ(std::vector<uint8_t>(a, oa.pos), e.buf);
    EXPECT_EQ(std::vector<uint8_t>(b, ob.pos), e.buf);
}

TEST(JuteVector, ElementThatOverrunsIsMalformed)
{
    // Count 2 fits the minimum size, but the second string claims 9 bytes.
    In i(bytes({0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9, 'x'}));
    cv_jvec v;
    EXPECT_EQ(cv_jute_get_vec(&i.in, nullptr, &v), -EBADMSG);
}

TEST(JuteEncode, RunningOutOfRoomIsReportedAndNothingIsWrittenPastTheEnd)
{
    uint8_t out[6] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
    cv_jute_out o;
    cv_jute_out_init(&o, out, 5);
    cv_jute_put_buf(&o, cv_jstr("hello"));
    EXPECT_EQ(o.err, -ENOBUFS);
    EXPECT_EQ(out[5], 0xaa);
}

TEST(JuteEncode, VectorWithCountButNoElementsIsInvalid)
{
    uint8_t out[16];
    cv_jute_out o;
    cv_jute_out_init(&o, out, sizeof out);
    cv_jvec v = {3, 0, nullptr, nullptr};
    cv_jute_put_vec(&o, nullptr, &v);
    EXPECT_EQ(o.err, -EINVAL);
}

TEST(JuteRecords, MinimumWireSizes)
{
    EXPECT_EQ(cv_jute_min_wire(nullptr), 4u);
    EXPECT_EQ(cv_jute_min_wire(&cv_rec_id), 8u);
    EXPECT_EQ(cv_jute_min_wire(&cv_rec_acl), 12u);
    EXPECT_EQ(cv_jute_min_wire(&cv_rec_stat), 68u);
    EXPECT_EQ(cv_jute_min_wire(&cv_rec_multi_header), 9u);
}

TEST(JuteVector, IteratorWalksBuiltItemsAsWellAsDecodedBytes)
{
    cv_acl acls[2] = {{1, {cv_jstr("world"), cv_jstr("anyone")}},
                      {31, {cv_jstr("digest"), cv_jstr("u:h")}}};
    cv_jvec built = {2, 0, nullptr, acls};
    cv_jvec_iter it;
    cv_acl a;
    cv_jvec_iter_init(&it, &built, &cv_rec_acl);
    ASSERT_TRUE(cv_jvec_next(&it, &a));
    EXPECT_EQ(a.perms, 1);
    ASSERT_TRUE(cv_jvec_next(&it, &a));
    EXPECT_EQ(a.perms, 31);
    EXPECT_FALSE(cv_jvec_next(&it, &a));
}
