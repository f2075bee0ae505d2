namespace Vectorizer.Engine.Collections;

/// <summary>One action of <c>POST /collections/aliases</c>.</summary>
public abstract record AliasOperation;

public sealed record CreateAlias(string CollectionName, string AliasName) : AliasOperation;

public sealed record DeleteAlias(string AliasName) : AliasOperation;

public sealed record RenameAlias(string OldAliasName, string NewAliasName) : AliasOperation;

public sealed record AliasDescription(string AliasName, string CollectionName);
