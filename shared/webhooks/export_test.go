package webhooks

// PayInvoice is payInvoice, for the external tests of its concurrency.
var PayInvoice = (*QualpayPuller).payInvoice
