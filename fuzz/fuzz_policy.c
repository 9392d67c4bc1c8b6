/*
 * fuzz_policy.c - fuzz target: the policy parser and the evaluator. Every
 * input that parses is evaluated for a few requests at a few times.
 */
#include "config.h"

#include "fuzz.h"
#include "policy.h"

/* Parse data as a policy file; evaluate it when it parses. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const groups[] = { "users", "ml-agents" };
	static const time_t times[] = { 0, 1704099600, 1704582000 };
	struct kw_config cfg;
	struct kw_policy *p = NULL;
	struct kw_decision d;
	struct kw_request r = { 0 };
	struct kw_error e;
	size_t i;

	if (kw_config_defaults(&cfg, "/etc/keyward/keyward.conf", NULL,
	    &e) != 0 || kw_policy_new(&p, &e) != 0)
		return 0;
	if (kw_policy_parse(p, "fuzz.conf", (const char *)data, size,
	    &e) == 0) {
		r.user = "summarizer";
		r.groups = groups;
		r.n_groups = 2;
		r.service = "keyward-agent";
		r.tty = "pts/0";
		r.rhost = "10.0.0.1";
		r.exe = "/opt/agents/indexer";
		r.exe_sha256 = "9f2c000000000000000000000000000000000000000000"
		    "000000000000000001";
		for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
			r.now = times[i];
			r.trusted_launcher = i % 2 == 0;
			if (kw_policy_eval(p, &cfg, &r, &d, &e) == 0)
				kw_decision_free(&d);
		}
	}
	kw_policy_free(p);
	kw_config_free(&cfg);
	return 0;
}
