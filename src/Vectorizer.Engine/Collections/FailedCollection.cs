namespace Vectorizer.Engine.Collections;

/// <summary>
/// A collection whose folder exists but that could not be opened (a damaged or missing <c>collection.json</c>, a WAL
/// record that does not decode, a format written by a newer version, missing operations, a bug). It is not served;
/// its name cannot be created, deleted or aliased over; its files are left exactly as they are for an operator
/// (<c>vectorizer collection check|repair|quarantine NAME</c>).
/// </summary>
/// <param name="Name">The collection's name (its folder's name).</param>
/// <param name="Path">The collection's folder.</param>
/// <param name="Reason">Why it could not be opened, in words.</param>
/// <param name="Since">When the failure was found.</param>
public sealed record FailedCollection(string Name, string Path, string Reason, DateTimeOffset Since);
