#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sync.h"

static const int forwarded_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
};

#define N_FORWARDED (sizeof forwarded_signals / sizeof forwarded_signals[0])

/* A signal from the terminal (^C) reaches nook and the monitor, not the container, which
 * leads a session of its own: the monitor passes it on, and nook's relay of the same
 * signal, arriving this soon, is a duplicate. */
#define DUPLICATE_WINDOW_NS 500000000LL

/* 0 while no container runs (before the start, after reaping): a relay then must not
 * reach whatever process got the pid. Set only while the relays are blocked. */
static volatile sig_atomic_t container;
/* When each signal last came from the terminal; 0: not pending a duplicate. Touched only
 * by the relay, one at a time, but a handler may touch no other kind of object. */
static atomic_llong terminal_sent_ns[NSIG];
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "a signal handler needs lock-free atomics");
static volatile sig_atomic_t resized;
/* The mask while the monitor waits: the relays run only there. */
static sigset_t wait_mask;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void relay(int sig, siginfo_t *info, void *context)
{
	int saved = errno;
	long long now = now_ns();

	long long terminal_sent = terminal_sent_ns[sig];
	pid_t target = container;

	(void)context;
	if (info->si_code == SI_USER && info->si_pid == getppid() && terminal_sent &&
	    now - terminal_sent < DUPLICATE_WINDOW_NS) {
		terminal_sent_ns[sig] = 0;
	} else {
		if (info->si_code == SI_KERNEL)
			terminal_sent_ns[sig] = now;
		/* The container is the monitor's child and is reaped only while this handler
		 * cannot run: its pid cannot have been reused. */
		if (target)
			kill(target, sig);
	}
	errno = saved;
}

/* The kernel sends SIGWINCH to the terminal's foreground group itself once the monitor
 * resizes it: the container needs no relay. */
static void note_resize(int sig)
{
	(void)sig;
	resized = 1;
}

void nook_forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < N_FORWARDED; i++)
		sigaddset(set, forwarded_signals[i]);
}

void nook_monitor_signals_default(void)
{
	for (size_t i = 0; i < N_FORWARDED; i++)
		signal(forwarded_signals[i], SIG_DFL);
}

int nook_monitor_setup(const sigset_t *forwarded, bool tty, struct nook_error *e)
{
	struct sigaction action = { .sa_sigaction = relay, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction resize = { .sa_handler = note_resize, .sa_flags = SA_RESTART };

	/* One relay at a time: terminal_sent_ns needs no locking. */
	action.sa_mask = *forwarded;
	for (size_t i = 0; i < N_FORWARDED; i++) {
		int sig = forwarded_signals[i];

		if (sigaction(sig, tty && sig == SIGWINCH ? &resize : &action, NULL) < 0)
			return nook_fail(e, errno, "sigaction(%s)", strsignal(sig));
	}
	sigprocmask(SIG_BLOCK, NULL, &wait_mask);
	for (size_t i = 0; i < N_FORWARDED; i++)
		sigdelset(&wait_mask, forwarded_signals[i]);
	return 0;
}

/* podman's k8s-file format: "<time> <stream> F|P <content>", F for a line that ended, P
 * for a piece without its newline (written at once: a log follower sees it now). A full
 * disk must not stop the container, so write errors are ignored. */
static void log_chunk(int fd, const char *stream, const char *buf, size_t len)
{
	struct timespec ts;
	char head[80];
	struct tm tm;
	size_t head_len;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	head_len = strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
	head_len += (size_t)snprintf(head + head_len, sizeof head - head_len, ".%09ldZ %s ",
				     ts.tv_nsec, stream);
	while (len > 0) {
		const char *newline = memchr(buf, '\n', len);
		size_t line = newline ? (size_t)(newline - buf) : len;
		struct iovec iov[] = {
			{ head, head_len },
			{ newline ? "F " : "P ", 2 },
			{ (void *)buf, line },
			{ "\n", 1 },
		};

		if (writev(fd, iov, 4) < 0 && errno == EINTR)
			continue;
		line += newline != NULL;
		buf += line;
		len -= line;
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* One read from an output of the container. 1: data carried, 0: none ready, -1: the
 * output ended and @fd is closed (a terminal ends with EIO once no process holds it). */
static int carry(struct nook_watch *w, int *fd, const char *stream, struct nook_sink *to)
{
	char buf[16384];
	ssize_t n = read(*fd, buf, sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		close_fd(fd);
		return -1;
	}
	if (w->logfd >= 0)
		log_chunk(w->logfd, stream, buf, (size_t)n);
	nook_sink_put(to, buf, (size_t)n);
	return 1;
}

/* The terminal the monitor itself runs on, if any: where the window size comes from. */
static int own_terminal(void)
{
	if (isatty(0))
		return 0;
	return isatty(1) ? 1 : -1;
}

static void copy_window_size(struct nook_watch *w)
{
	int tty = own_terminal();
	struct winsize ws;

	if (w->master < 0 || !w->relay_output || tty < 0)
		return;
	if (ioctl(tty, TIOCGWINSZ, &ws) == 0)
		ioctl(w->master, TIOCSWINSZ, &ws);
}

/* What reached fd 0 before the switch to raw mode, read while it is still canonical. Its
 * line discipline keeps an end-of-file (^D typed, or the one script(1) sends when its own
 * input ends) as a NUL byte ending a line: read raw, that NUL would reach the container
 * as a key. Read canonical, each complete line comes out as typed and each end-of-file as
 * an empty read, passed on as the container terminal's own end-of-file character. */
static void take_typeahead(struct nook_watch *w)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	struct termios t;

	if (!w->relay_input || !(w->saved_termios.c_lflag & ICANON))
		return;
	while (w->pending_len < sizeof w->pending && poll(&p, 1, 0) == 1 &&
	       p.revents == POLLIN) {
		ssize_t n = read(0, w->pending + w->pending_len,
				 sizeof w->pending - w->pending_len);

		if (n < 0)
			return;
		if (n == 0 && tcgetattr(w->master, &t) == 0)
			w->pending[w->pending_len++] = (char)t.c_cc[VEOF];
		w->pending_len += (size_t)n;
	}
}

/* Keys reach the container's terminal as typed: its line discipline, not ours, handles
 * ^C, ^Z, echo. */
static void make_raw(struct nook_watch *w)
{
	struct termios raw;

	if (!w->relay_output || !isatty(0) || tcgetattr(0, &w->saved_termios) < 0)
		return;
	take_typeahead(w);
	raw = w->saved_termios;
	cfmakeraw(&raw);
	if (tcsetattr(0, TCSADRAIN, &raw) == 0)
		w->raw = true;
}

static int take_master(struct nook_watch *w, int fd, struct nook_error *e)
{
	if (w->master >= 0) {
		close(fd);
		return nook_fail(e, EPROTO, "the container sent a second terminal");
	}
	w->master = fd;
	/* Input is written only as far as the terminal takes it: a container that does not
	 * read must not stop the monitor from carrying its output. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return nook_fail(e, errno, "terminal");
	copy_window_size(w);
	make_raw(w);
	return 0;
}

static int read_sync(struct nook_watch *w, struct nook_error *e)
{
	char msg;
	struct iovec iov = { .iov_base = &msg, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof control.buf,
	};
	struct cmsghdr *cmsg;
	ssize_t n = recvmsg(w->syncfd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	int fd = -1;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		return nook_fail(e, errno, "sync socket");
	if (n == 0) {
		w->synced = true;
		return 0;
	}
	cmsg = CMSG_FIRSTHDR(&mh);
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
	    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
	if (msg == NOOK_SYNC_CONSOLE && fd >= 0)
		return take_master(w, fd, e);
	if (fd >= 0)
		close(fd);
	if (msg == NOOK_SYNC_FAILED) {
		w->failed = true;
		return 0;
	}
	return nook_fail(e, EPROTO, "unexpected message '%c' from the container", msg);
}

static void reap(struct nook_watch *w)
{
	int status;

	if (waitpid(w->child, &status, WNOHANG) != w->child)
		return;
	container = 0;
	w->exited = true;
	w->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* Where fd 0 goes: the container's terminal, or the pipe that is its stdin; -1: neither. */
static int input_target(const struct nook_watch *w)
{
	return w->master >= 0 ? w->master : w->streams.stdin_w;
}

/* Once fd 0 ends, a pipe's end tells the command at once; a terminal's end-of-file
 * character does, as ^D typed at a terminal would. */
static void read_input(struct nook_watch *w)
{
	struct termios t;
	ssize_t n = read(0, w->pending, sizeof w->pending);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		w->pending_len = (size_t)n;
		w->pending_off = 0;
		return;
	}
	w->input_done = true;
	if (w->master < 0) {
		close_fd(&w->streams.stdin_w);
		return;
	}
	if (tcgetattr(w->master, &t) < 0)
		return;
	w->pending[0] = (char)t.c_cc[VEOF];
	w->pending_len = 1;
	w->pending_off = 0;
}

/* A container that closed its stdin (EPIPE) gets no more. */
static void write_input(struct nook_watch *w)
{
	ssize_t n = write(input_target(w), w->pending + w->pending_off,
			  w->pending_len - w->pending_off);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		w->pending_len = w->pending_off = 0;
		w->input_done = true;
		close_fd(&w->streams.stdin_w);
		return;
	}
	w->pending_off += (size_t)n;
	if (w->pending_off == w->pending_len)
		w->pending_len = w->pending_off = 0;
}

/* After the child's end, when other processes may keep the outputs open: what is there
 * now is all the monitor waits for. */
static void drain_now(struct nook_watch *w)
{
	while (w->streams.stdout_r >= 0 && carry(w, &w->streams.stdout_r, "stdout", w->out) > 0)
		;
	while (w->streams.stderr_r >= 0 && carry(w, &w->streams.stderr_r, "stderr", w->err) > 0)
		;
	while (w->master >= 0 && carry(w, &w->master, "stdout", w->out) > 0)
		;
	close_fd(&w->streams.stdout_r);
	close_fd(&w->streams.stderr_r);
	close_fd(&w->master);
}

enum source { SYNC, CHILD, STDOUT, STDERR, MASTER, STDIN, INPUT, OUT, ERR };

struct sources {
	struct pollfd fds[9];
	enum source what[9];
	nfds_t n;
};

static void add(struct sources *s, enum source what, int fd, short events)
{
	s->fds[s->n] = (struct pollfd){ .fd = fd, .events = events };
	s->what[s->n++] = what;
}

/* While its reader lags, the container's output waits where it is (the container blocks
 * as at a full pipe); once the container has exited it is all read, so that the log is
 * complete and the end can be recorded. */
static bool takes_output(const struct nook_watch *w, const struct nook_sink *to)
{
	return w->exited || !nook_sink_full(to);
}

static void collect(const struct nook_watch *w, struct sources *s)
{
	bool writing = w->pending_len > 0;
	short master_events = (short)((takes_output(w, w->out) ? POLLIN : 0) |
				      (writing ? POLLOUT : 0));

	s->n = 0;
	if (!w->synced)
		add(s, SYNC, w->syncfd, POLLIN);
	if (!w->exited)
		add(s, CHILD, w->pidfd, POLLIN);
	if (w->streams.stdout_r >= 0 && takes_output(w, w->out))
		add(s, STDOUT, w->streams.stdout_r, POLLIN);
	if (w->streams.stderr_r >= 0 && takes_output(w, w->err))
		add(s, STDERR, w->streams.stderr_r, POLLIN);
	if (nook_sink_pending(w->out))
		add(s, OUT, w->out->fd, POLLOUT);
	if (nook_sink_pending(w->err))
		add(s, ERR, w->err->fd, POLLOUT);
	if (w->master >= 0 && master_events)
		add(s, MASTER, w->master, master_events);
	else if (w->master < 0 && w->streams.stdin_w >= 0 && writing)
		add(s, STDIN, w->streams.stdin_w, POLLOUT);
	/* Once the command is gone, what the user types is no longer the container's. */
	if (input_target(w) >= 0 && w->relay_input && !w->input_done && !writing && !w->exited)
		add(s, INPUT, 0, POLLIN);
}

static int dispatch(struct nook_watch *w, enum source what, short revents,
		    struct nook_error *e)
{
	switch (what) {
	case SYNC:
		return read_sync(w, e);
	case CHILD:
		reap(w);
		return 0;
	case STDOUT:
		carry(w, &w->streams.stdout_r, "stdout", w->out);
		return 0;
	case STDERR:
		carry(w, &w->streams.stderr_r, "stderr", w->err);
		return 0;
	case OUT:
		nook_sink_push(w->out);
		return 0;
	case ERR:
		nook_sink_push(w->err);
		return 0;
	case MASTER:
		if (revents & POLLOUT)
			write_input(w);
		if (revents & ~POLLOUT)
			carry(w, &w->master, "stdout", w->out);
		if (w->master < 0)
			w->pending_len = w->pending_off = 0;
		return 0;
	case STDIN:
		write_input(w);
		return 0;
	case INPUT:
		read_input(w);
		return 0;
	}
	return 0;
}

static bool done(const struct nook_watch *w, bool until_synced)
{
	if (until_synced)
		return w->synced;
	return w->exited && w->streams.stdout_r < 0 && w->streams.stderr_r < 0 && w->master < 0;
}

static int watch(struct nook_watch *w, bool until_synced, struct nook_error *e)
{
	struct sources s;

	container = w->child;
	for (;;) {
		int n;

		if (w->exited && !w->drain_to_eof)
			drain_now(w);
		if (done(w, until_synced))
			return 0;
		collect(w, &s);
		n = ppoll(s.fds, s.n, NULL, &wait_mask);
		if (n < 0 && errno != EINTR)
			return nook_fail(e, errno, "ppoll");
		if (resized) {
			resized = 0;
			copy_window_size(w);
		}
		for (nfds_t i = 0; n > 0 && i < s.n; i++)
			if (s.fds[i].revents && dispatch(w, s.what[i], s.fds[i].revents, e) < 0)
				return -1;
	}
}

int nook_watch_start(struct nook_watch *w, struct nook_error *e)
{
	return watch(w, true, e);
}

int nook_watch_exit(struct nook_watch *w, struct nook_error *e)
{
	return watch(w, false, e);
}

void nook_watch_end(struct nook_watch *w)
{
	if (w->raw)
		tcsetattr(0, TCSADRAIN, &w->saved_termios);
	w->raw = false;
	close_fd(&w->master);
	close_fd(&w->pidfd);
	close_fd(&w->syncfd);
	nook_streams_close(&w->streams);
}

int nook_watch_give_up(struct nook_watch *w, int index, const char *op,
		       const struct nook_error *e)
{
	nook_report(index, op, e);
	/* Not once reaped: the pid may name another process by now. */
	if (w->child > 0 && !w->exited) {
		kill(w->child, SIGKILL);
		waitpid(w->child, NULL, 0);
	}
	container = 0;
	nook_watch_end(w);
	return NOOK_EXIT_FAILED;
}
