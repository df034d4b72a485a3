"""`fastapi-users`: GET /users/me with its JWT strategy and bearer transport, as its docs set it up.

Its own tables in its own database (BENCH_FU_DATABASE_URL), on an engine
built by gql_auth.core.database.create_engine so both libraries get the same driver,
pool and SQLite pragmas. `python fastapi_users_app.py seed` creates the
tables and one user, and prints a bearer token for it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from gql_auth.core.database import create_engine, create_session_factory
from gql_auth.settings import Settings

SECRET = os.environ["SECRET_KEY"]
engine = create_engine(Settings(_env_file=None, database_url=os.environ["BENCH_FU_DATABASE_URL"]))
session_factory = create_session_factory(engine)


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserUpdate(schemas.BaseUserUpdate):
    pass


async def get_async_session() -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


async def get_user_db(
    session: Annotated[AsyncSession, Depends(get_async_session)],
) -> AsyncIterator[SQLAlchemyUserDatabase[User, uuid.UUID]]:
    yield SQLAlchemyUserDatabase(session, User)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def get_user_manager(
    user_db: Annotated[SQLAlchemyUserDatabase[User, uuid.UUID], Depends(get_user_db)],
) -> AsyncIterator[UserManager]:
    yield UserManager(user_db)


def get_jwt_strategy() -> JWTStrategy[User, uuid.UUID]:
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


auth_backend = AuthenticationBackend(
    name="jwt", transport=BearerTransport(tokenUrl="auth/jwt/login"), get_strategy=get_jwt_strategy
)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt")
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users")


async def seed() -> str:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with session_factory() as session:
        manager = UserManager(SQLAlchemyUserDatabase(session, User))
        user = await manager.create(
            UserCreate(email="bench@example.com", password=uuid.uuid4().hex)
        )
    await engine.dispose()
    return await get_jwt_strategy().write_token(user)


if __name__ == "__main__":
    print(asyncio.run(seed()))
