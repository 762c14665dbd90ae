/*
 * checker: run inside a container by the conformance suite, prints what the process sees, one
 * `key=value` line per fact (a value never holds a newline: \n and \\ are escaped). Each argument
 * asks for one group of facts; an error is reported as the value `err=<ERRNO NAME>`, never as an exit
 * status, so that one missing file does not hide the other answers. Built static (the rootfs has no
 * libc) by conformance/lib/fixtures.cjs; C11 with GNU extensions for strerrorname_np and uname's
 * domainname.
 *
 *   id                 uid gid euid egid groups umask
 *   status             CapInh CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp (from /proc/self/status)
 *   rlimits            rlimit.<NAME>=soft,hard for every resource
 *   uts                hostname domainname
 *   cwd | env | pid | oom | ns | fds
 *   mount:PATH         the last /proc/self/mountinfo entry mounted at PATH: "<opts> <fstype> <superopts>"
 *   stat:PATH          lstat: type (b c d f l p s), mode (octal), uid, gid, rdev (major:minor)
 *   readlink:PATH | read:PATH | ls:PATH (number of entries)
 *   write:PATH         open(O_WRONLY) an existing file: ok or the error
 *   create:DIR         make and remove a file in DIR: ok or the error
 *   mkdir:PATH         mkdir then rmdir: ok or the error (the seccomp case denies mkdir)
 *   sysctl:NAME        the value of /proc/sys/NAME (dots as slashes)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

static void put_escaped(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\n')
      fputs("\\n", stdout);
    else if (s[i] == '\\')
      fputs("\\\\", stdout);
    else if (s[i] == '\0')
      fputs("\\0", stdout);
    else
      putchar(s[i]);
  }
}

static void fact(const char *key, const char *value) {
  fputs(key, stdout);
  putchar('=');
  put_escaped(value, strlen(value));
  putchar('\n');
}

static void fact_err(const char *key, int err) {
  const char *name = strerrorname_np(err);
  printf("%s=err=%s\n", key, name ? name : "UNKNOWN");
}

static void fact_num(const char *key, long long v) {
  printf("%s=%lld\n", key, v);
}

/* Reads a whole small file; returns its length or -errno. */
static ssize_t slurp(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t len = 0;
  while (len < size - 1) {
    ssize_t n = read(fd, buf + len, size - 1 - len);
    if (n < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  close(fd);
  return (ssize_t)len;
}

static void do_id(void) {
  fact_num("uid", getuid());
  fact_num("gid", getgid());
  fact_num("euid", geteuid());
  fact_num("egid", getegid());
  gid_t groups[NGROUPS_MAX];
  int n = getgroups(NGROUPS_MAX, groups);
  if (n < 0) {
    fact_err("groups", errno);
  } else {
    char list[NGROUPS_MAX * 12] = "";
    size_t off = 0;
    for (int i = 0; i < n && off < sizeof list - 12; i++)
      off += (size_t)snprintf(list + off, sizeof list - off, "%s%u", i ? "," : "", groups[i]);
    fact("groups", list);
  }
  mode_t mask = umask(0);
  umask(mask);
  printf("umask=%04o\n", (unsigned)mask);
}

static void do_status(void) {
  static const char *const wanted[] = {"CapInh", "CapPrm",     "CapEff", "CapBnd",
                                       "CapAmb", "NoNewPrivs", "Seccomp"};
  static char buf[16384];
  ssize_t n = slurp("/proc/self/status", buf, sizeof buf);
  if (n < 0) {
    fact_err("status", (int)-n);
    return;
  }
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    *colon = '\0';
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
      if (strcmp(line, wanted[i]) != 0) continue;
      char *v = colon + 1;
      while (*v == ' ' || *v == '\t') v++;
      char key[64];
      snprintf(key, sizeof key, "status.%s", line);
      fact(key, v);
    }
  }
}

static void do_rlimits(void) {
  static const struct {
    int res;
    const char *name;
  } limits[] = {
      {RLIMIT_AS, "AS"},           {RLIMIT_CORE, "CORE"},         {RLIMIT_CPU, "CPU"},
      {RLIMIT_DATA, "DATA"},       {RLIMIT_FSIZE, "FSIZE"},       {RLIMIT_LOCKS, "LOCKS"},
      {RLIMIT_MEMLOCK, "MEMLOCK"}, {RLIMIT_MSGQUEUE, "MSGQUEUE"}, {RLIMIT_NICE, "NICE"},
      {RLIMIT_NOFILE, "NOFILE"},   {RLIMIT_NPROC, "NPROC"},       {RLIMIT_RSS, "RSS"},
      {RLIMIT_RTPRIO, "RTPRIO"},   {RLIMIT_RTTIME, "RTTIME"},     {RLIMIT_SIGPENDING, "SIGPENDING"},
      {RLIMIT_STACK, "STACK"},
  };
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    char key[32];
    snprintf(key, sizeof key, "rlimit.%s", limits[i].name);
    struct rlimit r;
    if (getrlimit(limits[i].res, &r) < 0) {
      fact_err(key, errno);
      continue;
    }
    char soft[24], hard[24], v[64];
    if (r.rlim_cur == RLIM_INFINITY)
      strcpy(soft, "unlimited");
    else
      snprintf(soft, sizeof soft, "%llu", (unsigned long long)r.rlim_cur);
    if (r.rlim_max == RLIM_INFINITY)
      strcpy(hard, "unlimited");
    else
      snprintf(hard, sizeof hard, "%llu", (unsigned long long)r.rlim_max);
    snprintf(v, sizeof v, "%s,%s", soft, hard);
    fact(key, v);
  }
}

static void do_uts(void) {
  struct utsname u;
  if (uname(&u) < 0) {
    fact_err("hostname", errno);
    return;
  }
  fact("hostname", u.nodename);
  fact("domainname", u.domainname);
}

static void do_cwd(void) {
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof buf))
    fact("cwd", buf);
  else
    fact_err("cwd", errno);
}

static void do_env(void) {
  extern char **environ;
  for (char **e = environ; *e; e++) fact("env", *e);
}

static void do_ns(void) {
  static const char *const names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[64], key[32];
    snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
    snprintf(key, sizeof key, "ns.%s", names[i]);
    struct stat st;
    if (stat(path, &st) < 0)
      fact_err(key, errno);
    else
      fact_num(key, (long long)st.st_ino);
  }
}

static void do_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    fact_err("fds", errno);
    return;
  }
  char list[4096] = "";
  size_t off = 0;
  int self = dirfd(d);
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
    if (off < sizeof list - 16)
      off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", off ? "," : "", e->d_name);
  }
  closedir(d);
  fact("fds", list);
}

static void do_file_fact(const char *key, const char *path, int trim) {
  static char buf[65536];
  ssize_t n = slurp(path, buf, sizeof buf);
  if (n < 0) {
    fact_err(key, (int)-n);
    return;
  }
  if (trim)
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
  fputs(key, stdout);
  putchar('=');
  put_escaped(buf, (size_t)n);
  putchar('\n');
}

/* mountinfo: id parent major:minor root mountpoint opts [optional...] - fstype source superopts */
static void do_mount(const char *key, const char *path) {
  static char buf[1 << 20];
  ssize_t n = slurp("/proc/self/mountinfo", buf, sizeof buf);
  if (n < 0) {
    fact_err(key, (int)-n);
    return;
  }
  char found[1200] = "none";
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    char mnt[PATH_MAX], opts[512], fstype[64], source[PATH_MAX], super[512];
    const char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s %511s", mnt, opts) != 2) continue;
    if (sscanf(sep + 3, "%63s %4095s %511s", fstype, source, super) != 3) continue;
    if (strcmp(mnt, path) == 0) snprintf(found, sizeof found, "%s %s %s", opts, fstype, super);
  }
  fact(key, found);
}

static void do_stat(const char *key, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    fact_err(key, errno);
    return;
  }
  char type = S_ISBLK(st.st_mode)    ? 'b'
              : S_ISCHR(st.st_mode)  ? 'c'
              : S_ISDIR(st.st_mode)  ? 'd'
              : S_ISLNK(st.st_mode)  ? 'l'
              : S_ISFIFO(st.st_mode) ? 'p'
              : S_ISSOCK(st.st_mode) ? 's'
                                     : 'f';
  printf("%s=type=%c mode=%04o uid=%u gid=%u rdev=%u:%u\n", key, type,
         (unsigned)(st.st_mode & 07777), st.st_uid, st.st_gid, major(st.st_rdev),
         minor(st.st_rdev));
}

static void do_readlink(const char *key, const char *path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n < 0) {
    fact_err(key, errno);
    return;
  }
  buf[n] = '\0';
  fact(key, buf);
}

static void do_ls(const char *key, const char *path) {
  DIR *d = opendir(path);
  if (!d) {
    fact_err(key, errno);
    return;
  }
  long long count = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) count++;
  closedir(d);
  fact_num(key, count);
}

static void do_write(const char *key, const char *path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    fact_err(key, errno);
    return;
  }
  close(fd);
  fact(key, "ok");
}

static void do_create(const char *key, const char *dir) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/.checker-%d", dir, (int)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    fact_err(key, errno);
    return;
  }
  close(fd);
  unlink(path);
  fact(key, "ok");
}

static void do_mkdir(const char *key, const char *path) {
  if (mkdir(path, 0700) < 0) {
    fact_err(key, errno);
    return;
  }
  rmdir(path);
  fact(key, "ok");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *colon = strchr(a, ':');
    const char *arg = colon ? colon + 1 : "";
    size_t len = colon ? (size_t)(colon - a) : strlen(a);
#define IS(word) (len == strlen(word) && strncmp(a, word, len) == 0)
    if (IS("id"))
      do_id();
    else if (IS("status"))
      do_status();
    else if (IS("rlimits"))
      do_rlimits();
    else if (IS("uts"))
      do_uts();
    else if (IS("cwd"))
      do_cwd();
    else if (IS("env"))
      do_env();
    else if (IS("pid"))
      fact_num("pid", getpid());
    else if (IS("oom"))
      do_file_fact("oom_score_adj", "/proc/self/oom_score_adj", 1);
    else if (IS("ns"))
      do_ns();
    else if (IS("fds"))
      do_fds();
    else if (IS("mount"))
      do_mount(a, arg);
    else if (IS("stat"))
      do_stat(a, arg);
    else if (IS("readlink"))
      do_readlink(a, arg);
    else if (IS("read"))
      do_file_fact(a, arg, 0);
    else if (IS("ls"))
      do_ls(a, arg);
    else if (IS("write"))
      do_write(a, arg);
    else if (IS("create"))
      do_create(a, arg);
    else if (IS("mkdir"))
      do_mkdir(a, arg);
    else if (IS("sysctl")) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "/proc/sys/%s", arg);
      for (char *p = path + strlen("/proc/sys/"); *p; p++)
        if (*p == '.') *p = '/';
      do_file_fact(a, path, 1);
    } else {
      fprintf(stderr, "checker: unknown query %s\n", a);
      return 2;
    }
#undef IS
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
