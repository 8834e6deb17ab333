/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A modern virtio-pci function (virtio 1.x, section 4.1) around a virtio
 * device (vu-dev.h): its PCI configuration space and BARs, as a vfio-user
 * server presents them, driving the device's virtqueues.
 *
 * Layout: PCI 1af4:(1040 + device id), revision 1 (modern only), a
 * capability list with MSI-X and the four virtio structures.  BAR 0
 * (32-bit memory, 16 KiB) holds the common configuration at 0, the ISR
 * status at 0x1000, the device configuration at 0x2000 and the
 * notification area at 0x3000 (4 bytes per queue); BAR 1 (4 KiB) holds
 * the MSI-X table at 0 and its pending-bit array at 0x800.  Regions are
 * numbered as VFIO's PCI regions (0-5 BARs, 6 ROM, 7 configuration space,
 * 8 VGA); those not listed are empty.
 *
 * Contract:
 *  - vpci_read()/vpci_write() take any access within a region (the
 *    caller checks region and range with vpci_region_size()); what the
 *    guest driver writes is checked here, and its mistakes leave the
 *    device in a state the specification allows (a value refused, or
 *    DEVICE_NEEDS_RESET), never the process in trouble.  Writes to
 *    read-only places are ignored.
 *  - A queue starts when the driver enables it; a write to its
 *    notification address kicks it.  Interrupts go to the MSI-X eventfds
 *    of vpci_set_msix(); a queue whose vector has none (or is
 *    NO_VECTOR) interrupts nobody.
 *  - vpci_set_mem() swaps guest memory under running queues (pausing
 *    their I/O threads, as a vhost-user memory table change does).
 *  - vpci_reset() is a device reset (status 0): queues stop, the device
 *    class ends its work, the driver-visible state returns to its initial
 *    values.  Memory and MSI-X eventfds belong to the vfio-user client
 *    and stay until vpci_disconnect(), which forgets them too.
 *  - All calls come from one thread (the vfio-user control thread).
 */
#ifndef X9P_VIRTIO_PCI_H
#define X9P_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "vu-dev.h"

#define VPCI_NUM_REGIONS 9              /* VFIO_PCI_NUM_REGIONS */
#define VPCI_CONFIG_REGION 7            /* VFIO_PCI_CONFIG_REGION_INDEX */
#define VPCI_NUM_IRQS 5                 /* VFIO_PCI_NUM_IRQS */
#define VPCI_MSIX_IRQ 2                 /* VFIO_PCI_MSIX_IRQ_INDEX */
#define VPCI_MAX_VECTORS 9              /* configuration + one per queue */

struct vpci;

/* dev: the virtio device (not owned); virtio_id: its device type. */
struct vpci *vpci_new(struct vu_dev *dev, unsigned virtio_id);
void vpci_free(struct vpci *p);

/* Bytes in region `index` (0 for an absent one). */
uint64_t vpci_region_size(const struct vpci *p, unsigned index);
/* Number of MSI-X vectors. */
unsigned vpci_msix_vectors(const struct vpci *p);

void vpci_read(struct vpci *p, unsigned region, uint64_t off, void *buf, uint32_t count);
void vpci_write(struct vpci *p, unsigned region, uint64_t off, const void *buf, uint32_t count);

/* Sets MSI-X vectors [start, start + count) to fds (taken over; -1 for
 * none).  count 0 with fds NULL: every vector to none. */
void vpci_set_msix(struct vpci *p, unsigned start, unsigned count, const int *fds);
/* Signals vectors [start, start + count) (SET_IRQS with DATA_NONE). */
void vpci_trigger_msix(struct vpci *p, unsigned start, unsigned count);
/* Guest memory for the rings and buffers (taken over; NULL for none). */
void vpci_set_mem(struct vpci *p, struct vu_mem *mem);
/*
 * A descriptor that becomes readable when a running queue finds a guest
 * driver fault (a bad chain, rings gone from memory); the caller then calls
 * vpci_check_faults(), which sets DEVICE_NEEDS_RESET and signals the
 * configuration vector.
 */
int vpci_fault_fd(const struct vpci *p);
void vpci_check_faults(struct vpci *p);
void vpci_reset(struct vpci *p);
void vpci_disconnect(struct vpci *p);

/*
 * What a later process needs to go on presenting the same function
 * (vfu-state.c): vpci_save() appends the driver-visible state as text
 * tokens to t and the MSI-X eventfds to fds[*nfds..max) (the function's:
 * the caller sends copies); vpci_changes() counts the writes that may have
 * changed it.  vpci_restore_token() applies one token on a function that
 * was just connected (false: not one of its tokens, or a bad value;
 * descriptors are duplicated), and vpci_restart() then starts the queues
 * the driver had enabled, from the used index in guest memory.
 */
void vpci_save(const struct vpci *p, GString *t, int *fds, unsigned *nfds, unsigned max);
uint64_t vpci_changes(const struct vpci *p);
bool vpci_restore_token(struct vpci *p, const char *tok, int *fds, unsigned nfds);
bool vpci_restart(struct vpci *p);

#endif
