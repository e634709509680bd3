// SPDX-License-Identifier: GPL-2.0
/*
 * shype_ivshmem: a minimal driver for the QEMU ivshmem PCI device (1af4:1110), the guest half of
 * shype's doorbell tests.
 *
 * QEMU's ivshmem-doorbell delivers a peer's doorbell only as an MSI-X interrupt (INTx and the
 * Interrupt Status register are never used by revision 1 devices), and userspace cannot take
 * MSI-X interrupts without VFIO + an IOMMU. This driver takes them and hands them to userspace
 * through one misc device per PCI device, /dev/ivshmem-<PCI address> (e.g.
 * /dev/ivshmem-0000:00:04.0):
 *
 *   read(8 bytes)  blocks until the device's interrupt count differs from the count this open
 *                  file last returned (initially: the count at open time), then returns the
 *                  count as a native-endian u64. O_NONBLOCK gives -EAGAIN instead of blocking.
 *                  -EOPNOTSUPP if the device has no MSI-X (ivshmem-plain), -ENODEV once the
 *                  device is gone (hot-unplug while the file is open).
 *   poll()         EPOLLIN when read() would not block; EPOLLERR|EPOLLHUP when it would fail.
 *   write(4 bytes) writes the native-endian u32 to the Doorbell register: (peer << 16) | vector.
 *
 * sysfs, in the PCI device's directory (/sys/bus/pci/devices/<address>/):
 *   ivposition  the IVPosition register: this peer's ID (0 when not configured for interrupts)
 *   doorbells   the interrupt count
 *   vectors     the number of MSI-X vectors in use (0: no interrupts)
 *
 * Only BAR0 (the registers) is mapped and only BAR0's region is claimed: the shared memory in
 * BAR2 stays unclaimed so that userspace keeps mapping it through sysfs (resource2), exactly as it
 * does with no driver bound. Devices without MSI-X (ivshmem-plain) bind too, without interrupts.
 */

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#define DRV_NAME "shype_ivshmem"

/* BAR0 registers (docs/specs/ivshmem-spec.txt in QEMU). */
#define IVSHMEM_INTRMASK 0
#define IVSHMEM_INTRSTATUS 4
#define IVSHMEM_IVPOSITION 8
#define IVSHMEM_DOORBELL 12

#define IVSHMEM_MAX_VECTORS 16

struct shm_dev {
	struct kref ref;	/* one for the bound device, one per open file */
	struct pci_dev *pdev;
	void __iomem *regs;	/* BAR0; NULL once removed */
	struct mutex lock;	/* serialises register access against remove() */
	bool gone;		/* remove() has run: fail reads/writes */
	int nvec;		/* MSI-X vectors with a handler; 0: no interrupts */
	atomic64_t count;	/* interrupts received, over all vectors */
	wait_queue_head_t wait;
	struct miscdevice misc;
	char name[48];		/* "ivshmem-<PCI address>": misc device and IRQ name */
};

/* Per open file: the count that read() last returned (or the count at open). */
struct shm_file {
	struct shm_dev *dev;
	u64 seen;
};

static void shm_dev_free(struct kref *ref)
{
	kfree(container_of(ref, struct shm_dev, ref));
}

static irqreturn_t shm_irq(int irq, void *data)
{
	struct shm_dev *dev = data;

	atomic64_inc(&dev->count);
	wake_up_interruptible_all(&dev->wait);
	return IRQ_HANDLED;
}

/*
 * misc_open() has set file->private_data to our miscdevice and holds misc_mtx, which
 * misc_deregister() also takes: the device cannot be freed before the kref_get below.
 */
static int shm_open(struct inode *inode, struct file *file)
{
	struct shm_dev *dev = container_of(file->private_data, struct shm_dev, misc);
	struct shm_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	kref_get(&dev->ref);
	f->dev = dev;
	f->seen = atomic64_read(&dev->count);
	file->private_data = f;
	return stream_open(inode, file);
}

static int shm_release(struct inode *inode, struct file *file)
{
	struct shm_file *f = file->private_data;

	kref_put(&f->dev->ref, shm_dev_free);
	kfree(f);
	return 0;
}

static ssize_t shm_read(struct file *file, char __user *buf, size_t len, loff_t *ppos)
{
	struct shm_file *f = file->private_data;
	struct shm_dev *dev = f->dev;
	u64 now;
	int ret;

	if (len < sizeof(now))
		return -EINVAL;
	if (dev->nvec == 0)
		return -EOPNOTSUPP;
	for (;;) {
		if (READ_ONCE(dev->gone))
			return -ENODEV;
		now = atomic64_read(&dev->count);
		if (now != f->seen)
			break;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(dev->wait, READ_ONCE(dev->gone) ||
					       atomic64_read(&dev->count) != f->seen);
		if (ret)
			return ret;
	}
	if (copy_to_user(buf, &now, sizeof(now)))
		return -EFAULT;
	f->seen = now;
	return sizeof(now);
}

static __poll_t shm_poll(struct file *file, poll_table *wait)
{
	struct shm_file *f = file->private_data;
	struct shm_dev *dev = f->dev;

	poll_wait(file, &dev->wait, wait);
	if (READ_ONCE(dev->gone) || dev->nvec == 0)
		return EPOLLERR | EPOLLHUP;
	return atomic64_read(&dev->count) != f->seen ? EPOLLIN | EPOLLRDNORM : 0;
}

static ssize_t shm_write(struct file *file, const char __user *buf, size_t len, loff_t *ppos)
{
	struct shm_file *f = file->private_data;
	struct shm_dev *dev = f->dev;
	ssize_t ret = sizeof(u32);
	u32 value;

	if (len != sizeof(value))
		return -EINVAL;
	if (copy_from_user(&value, buf, sizeof(value)))
		return -EFAULT;
	mutex_lock(&dev->lock);
	if (dev->gone)
		ret = -ENODEV;
	else
		iowrite32(value, dev->regs + IVSHMEM_DOORBELL);
	mutex_unlock(&dev->lock);
	return ret;
}

static const struct file_operations shm_fops = {
	.owner = THIS_MODULE,
	.open = shm_open,
	.release = shm_release,
	.read = shm_read,
	.write = shm_write,
	.poll = shm_poll,
	.llseek = no_llseek,
};

/*
 * sysfs attributes of the PCI device. The driver core adds them after probe() and removes them
 * (waiting for readers) before remove(), so drvdata and the registers are valid here.
 */
static ssize_t ivposition_show(struct device *d, struct device_attribute *attr, char *buf)
{
	struct shm_dev *dev = dev_get_drvdata(d);

	return sysfs_emit(buf, "%d\n", (s32)ioread32(dev->regs + IVSHMEM_IVPOSITION));
}
static DEVICE_ATTR_RO(ivposition);

static ssize_t doorbells_show(struct device *d, struct device_attribute *attr, char *buf)
{
	struct shm_dev *dev = dev_get_drvdata(d);

	return sysfs_emit(buf, "%llu\n", (unsigned long long)atomic64_read(&dev->count));
}
static DEVICE_ATTR_RO(doorbells);

static ssize_t vectors_show(struct device *d, struct device_attribute *attr, char *buf)
{
	struct shm_dev *dev = dev_get_drvdata(d);

	return sysfs_emit(buf, "%d\n", dev->nvec);
}
static DEVICE_ATTR_RO(vectors);

static struct attribute *shm_attrs[] = {
	&dev_attr_ivposition.attr,
	&dev_attr_doorbells.attr,
	&dev_attr_vectors.attr,
	NULL,
};
ATTRIBUTE_GROUPS(shm);

static void shm_free_irqs(struct shm_dev *dev)
{
	int i;

	for (i = 0; i < dev->nvec; i++)
		free_irq(pci_irq_vector(dev->pdev, i), dev);
	if (dev->nvec > 0)
		pci_free_irq_vectors(dev->pdev);
}

/* Sets up MSI-X with one handler per vector; leaves nvec 0 if the device has no MSI-X. */
static int shm_setup_irqs(struct shm_dev *dev)
{
	struct pci_dev *pdev = dev->pdev;
	int want = pci_msix_vec_count(pdev);
	int got, ret, i;

	if (want <= 0) {
		dev_info(&pdev->dev, "no MSI-X (ivshmem-plain?): shared memory only\n");
		return 0;
	}
	got = pci_alloc_irq_vectors(pdev, 1, min(want, IVSHMEM_MAX_VECTORS), PCI_IRQ_MSIX);
	if (got < 0)
		return got;
	for (i = 0; i < got; i++) {
		ret = request_irq(pci_irq_vector(pdev, i), shm_irq, 0, dev->name, dev);
		if (ret) {
			while (--i >= 0)
				free_irq(pci_irq_vector(pdev, i), dev);
			pci_free_irq_vectors(pdev);
			return ret;
		}
	}
	dev->nvec = got;
	return 0;
}

static int shm_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct shm_dev *dev;
	int ret;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	kref_init(&dev->ref);
	mutex_init(&dev->lock);
	init_waitqueue_head(&dev->wait);
	atomic64_set(&dev->count, 0);
	dev->pdev = pdev;
	snprintf(dev->name, sizeof(dev->name), "ivshmem-%s", pci_name(pdev));

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_free;
	ret = pci_request_region(pdev, 0, DRV_NAME); /* BAR0 only: BAR2 stays free for sysfs */
	if (ret)
		goto err_disable;
	dev->regs = pci_iomap(pdev, 0, 0);
	if (!dev->regs) {
		ret = -ENOMEM;
		goto err_release;
	}
	pci_set_master(pdev); /* MSI-X messages are bus-master writes: QEMU drops them otherwise */
	pci_set_drvdata(pdev, dev);
	ret = shm_setup_irqs(dev);
	if (ret) {
		dev_err(&pdev->dev, "MSI-X setup failed: %d\n", ret);
		goto err_unmap;
	}
	/* Rev 1 ignores the mask; keep rev 0 devices from asserting INTx, which we do not handle. */
	iowrite32(0, dev->regs + IVSHMEM_INTRMASK);

	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = dev->name;
	dev->misc.fops = &shm_fops;
	dev->misc.parent = &pdev->dev;
	ret = misc_register(&dev->misc);
	if (ret)
		goto err_irqs;
	dev_info(&pdev->dev, "/dev/%s: IVPosition %d, %d MSI-X vector(s)\n", dev->name,
		 (s32)ioread32(dev->regs + IVSHMEM_IVPOSITION), dev->nvec);
	return 0;

err_irqs:
	shm_free_irqs(dev);
err_unmap:
	pci_set_drvdata(pdev, NULL);
	pci_iounmap(pdev, dev->regs);
err_release:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(dev);
	return ret;
}

/* Unbind, rmmod or hot-unplug. Open files keep the struct (kref) but see gone = true. */
static void shm_remove(struct pci_dev *pdev)
{
	struct shm_dev *dev = pci_get_drvdata(pdev);

	misc_deregister(&dev->misc); /* no new opens after this */
	mutex_lock(&dev->lock);
	WRITE_ONCE(dev->gone, true);
	mutex_unlock(&dev->lock);
	wake_up_interruptible_all(&dev->wait);
	shm_free_irqs(dev);
	pci_iounmap(pdev, dev->regs);
	dev->regs = NULL;
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
	kref_put(&dev->ref, shm_dev_free);
}

static const struct pci_device_id shm_ids[] = {
	{ PCI_DEVICE(0x1af4, 0x1110) },
	{ 0 }
};
MODULE_DEVICE_TABLE(pci, shm_ids);

static struct pci_driver shm_driver = {
	.name = DRV_NAME,
	.id_table = shm_ids,
	.probe = shm_probe,
	.remove = shm_remove,
	.dev_groups = shm_groups, /* pci_driver's own field: it overwrites driver.dev_groups */
};
module_pci_driver(shm_driver);

MODULE_DESCRIPTION("ivshmem doorbell interrupts for the shype test guest");
MODULE_LICENSE("GPL");
