#ifndef ENUMD_CCURLSHIM_H
#define ENUMD_CCURLSHIM_H
// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call.
// These typed wrappers are the only way the Swift side sets options.
#include <curl/curl.h>

CURLcode enumd_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode enumd_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode enumd_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode enumd_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode enumd_curl_setopt_write_function(CURL *handle, size_t (*fn)(char *, size_t, size_t, void *));
CURLcode enumd_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

#endif
