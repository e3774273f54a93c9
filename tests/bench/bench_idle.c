/* make bench only: the floor of any C poller's memory on this machine - a program linked the
 * same way as solarpoll but against libc only, blocked on stdin as `solarpoll execd` is between
 * polls. Its VmRSS, RssAnon, PSS and private pages are what a process costs before any code of
 * ours runs. */
#include <unistd.h>

int main(void)
{
    char buf[64];
    while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
        ;
    return 0;
}
