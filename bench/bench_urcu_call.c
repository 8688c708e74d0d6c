/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* liburcu memb through its out-of-line functions (no _LGPL_SOURCE), plus the updater side. */
#include <unistd.h>
#include <urcu/urcu-memb.h>

void urcu_call_pairs(long n)
{
	for (long i = 0; i < n; i++) {
		urcu_memb_read_lock();
		urcu_memb_read_unlock();
	}
}

void urcu_register(void) { urcu_memb_register_thread(); }
void urcu_unregister(void) { urcu_memb_unregister_thread(); }
void urcu_sync(void) { urcu_memb_synchronize_rcu(); }

void urcu_sleeping_section(int us)
{
	urcu_memb_read_lock();
	usleep(us);
	urcu_memb_read_unlock();
}
