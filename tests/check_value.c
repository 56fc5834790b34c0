#include <check.h>
#include <stdlib.h>
#include "sbclient.h"
START_TEST(t_nil) { sb_value *v = sb_nil(); ck_assert_int_eq(sb_value_type(v), SB_NIL); sb_value_free(v); }
END_TEST
int main(void) { Suite *s = suite_create("value"); TCase *tc = tcase_create("x"); tcase_add_test(tc, t_nil); suite_add_tcase(s, tc); SRunner *r = srunner_create(s); srunner_run_all(r, CK_NORMAL); int f = srunner_ntests_failed(r); srunner_free(r); return f ? 1 : 0; }
