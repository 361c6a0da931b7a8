/* Growing arrays of plain structs. */
#ifndef WIRELINK_ARRAY_H
#define WIRELINK_ARRAY_H

#include <stdbool.h>
#include <stdlib.h>

/* Makes room for element n in *arr (capacity *cap, elements of size bytes),
 * doubling as needed. False (nothing changed) when out of memory. */
static inline bool array_grow(void **arr, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = reallocarray(*arr, ncap, size);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

#endif
