typedef int placeholder_t; /* to be written */
