/*
 * trace.h --
 *	Tracing to stderr, on when SCHANNEL_TRACE is set in the environment
 *	when the package loads (init.c). Free of Tcl, so the sans-I/O engine
 *	can trace too.
 */

#ifndef SCHANNEL_TRACE_H
#define SCHANNEL_TRACE_H

extern int schannelTrace;
void		Trace_Printf(const char *format, ...);
#define TRACE(...) do { if (schannelTrace) Trace_Printf(__VA_ARGS__); } while (0)

#endif /* SCHANNEL_TRACE_H */
